#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "agent/tls/certificate.h"
#include "http/client.h"

namespace wscp::agent::testing {

// An mTLS client of an agent's API: the client certificate of make_pki.sh's
// PKI directory, the agent's self-signed serving certificate known by its
// pinned public key.
inline std::unique_ptr<http::Client> agent_api_client(const std::string& pki, const std::string& serving_cert_pem) {
  auto pin = tls::public_key_pin_sha256(serving_cert_pem);
  REQUIRE(pin.ok());
  http::ClientConfig cc;
  cc.client_cert = pki + "/client.crt";
  cc.client_key = pki + "/client.key";
  cc.verify_peer = false;  // self-signed: known by its pinned key
  cc.pinned_public_key = *pin;
  cc.bypass_proxy = true;
  return http::make_curl_client(cc);
}

// `wscp-agent serve --config FILE`, its stdout and stderr in LOG; killed if
// the test ends before it does.
class ServeProcess {
 public:
  ServeProcess(const std::string& config, const std::string& log, std::string binary = WSCP_AGENT_BINARY)
      : ServeProcess(std::vector<std::string>{std::move(binary), "serve", "--config", config}, log) {}

  // Any program: argv[0] is its path.
  ServeProcess(const std::vector<std::string>& argv, const std::string& log) : log_(log) {
    REQUIRE(!argv.empty());
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::close(fd);
      }
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~ServeProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  void signal(int sig) const { ::kill(pid_, sig); }
  pid_t pid() const { return pid_; }
  // Whether it has exited (reaping it); its wait status then in status().
  bool exited() {
    if (exited_) return true;
    if (::waitpid(pid_, &status_, WNOHANG) == pid_) exited_ = true;
    return exited_;
  }
  int status() const { return status_; }
  std::string log() const {
    std::ifstream in(log_);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

}  // namespace wscp::agent::testing
