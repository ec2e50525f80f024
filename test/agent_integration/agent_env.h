#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "http/client.h"

namespace wscp::agent::testing {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string required_env(const char* name, const char* fixture) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    throw std::runtime_error(std::string(name) + " is not set: run through ctest (fixture '" + fixture + "')");
  }
  return v;
}

// Polls `condition` until it holds or `timeout` passes; true if it held.
inline bool eventually(std::chrono::milliseconds timeout, const std::function<bool()>& condition,
                       std::chrono::milliseconds every = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

// A loopback port free at the time of asking.
inline std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("bind");
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A plain HTTP client that never uses a proxy (everything here is loopback).
inline std::shared_ptr<http::Client> loopback_client() {
  http::ClientConfig c;
  c.bypass_proxy = true;
  return std::shared_ptr<http::Client>(http::make_curl_client(c));
}

// The metadata emulator the "metadata_emulator" fixture started
// (emulator.sh). Missing = failed test, never a skip.
class Emulator {
 public:
  Emulator() {
    const std::string state = required_env("WSCP_EMULATOR_STATE", "metadata_emulator");
    url_ = "http://127.0.0.1:" + read_text(state + "/port");
    post("/_emulator/reset");
  }

  const std::string& url() const { return url_; }

  http::Response request(const std::string& method, const std::string& path,
                         std::vector<http::Header> headers = {}, std::string body = "") const {
    http::Request r;
    r.method = method;
    r.url = url_ + path;
    r.headers = std::move(headers);
    r.body = std::move(body);
    r.timeout = std::chrono::milliseconds(10'000);
    auto resp = http_->send(r);
    if (!resp) throw std::runtime_error("emulator " + path + ": " + resp.error().describe());
    return *resp;
  }

  nlohmann::json post(const std::string& path, const std::string& body = "") const {
    auto r = request("POST", path, {{"Content-Type", "application/json"}}, body);
    if (r.status != 200) throw std::runtime_error("emulator " + path + ": HTTP " + std::to_string(r.status) + " " + r.body);
    return nlohmann::json::parse(r.body);
  }
  nlohmann::json post(const std::string& path, const nlohmann::json& body) const { return post(path, body.dump()); }

  nlohmann::json get(const std::string& path) const { return nlohmann::json::parse(request("GET", path).body); }

 private:
  std::string url_;
  std::shared_ptr<http::Client> http_ = loopback_client();
};

// Runs a shell command; its exit status and what it printed (stdout and stderr).
struct CommandResult {
  int status = -1;
  std::string output;
};

inline CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace wscp::agent::testing
