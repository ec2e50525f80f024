#pragma once

// The Prometheus side of the metrics tests: the "prometheus" fixture's
// server (prometheus.sh), promtool, and a plain scrape.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "agent_env.h"

namespace wscp::agent::testing {

// The fixture's server: its URL, and the loopback port it scrapes every second.
struct PrometheusServer {
  std::string url;
  std::uint16_t target_port = 0;

  static PrometheusServer from_fixture() {
    std::map<std::string, std::string> env;
    std::istringstream in(read_text(required_env("WSCP_PROMETHEUS_STATE", "prometheus") + "/env"));
    for (std::string line; std::getline(in, line);) {
      auto eq = line.find('=');
      if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return {env.at("WSCP_PROMETHEUS_URL"), static_cast<std::uint16_t>(std::stoi(env.at("WSCP_PROMETHEUS_TARGET_PORT")))};
  }

  // The result vector of an instant query; null while Prometheus cannot answer.
  nlohmann::json query(const std::string& promql) const {
    http::Request r;
    r.url = url + "/api/v1/query?query=" + http::url_encode(promql);
    r.timeout = std::chrono::seconds(10);
    auto resp = loopback_client()->send(r);
    if (!resp || resp->status != 200) return nlohmann::json();
    auto j = nlohmann::json::parse(resp->body, nullptr, false);
    if (j.is_discarded() || j["status"] != "success") return nlohmann::json();
    return j["data"]["result"];
  }
};

// GET http://127.0.0.1:PORT/metrics.
inline std::string scrape_metrics(std::uint16_t port) {
  http::Request r;
  r.url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
  r.timeout = std::chrono::seconds(10);
  auto resp = loopback_client()->send(r);
  REQUIRE_MESSAGE(resp.ok(), (resp.ok() ? "" : resp.error().describe()));
  REQUIRE(resp->status == 200);
  return resp->body;
}

// `promtool check metrics` over an exposition: its status and what it said.
inline CommandResult promtool_check(const std::string& exposition) {
  char path[] = "/tmp/wscp-metrics-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, exposition.data(), exposition.size()) == static_cast<ssize_t>(exposition.size()));
  ::close(fd);
  auto r = run_command("promtool check metrics < " + std::string(path));
  ::unlink(path);
  return r;
}

// The value of one sample line of an exposition ("name{labels}"), or -1.
inline double sample_value(const std::string& exposition, const std::string& series) {
  const std::string key = "\n" + series + " ";
  auto at = ("\n" + exposition).find(key);
  if (at == std::string::npos) return -1;
  return std::strtod(exposition.c_str() + at + key.size() - 1, nullptr);
}

}  // namespace wscp::agent::testing
