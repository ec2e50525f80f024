// The agent's metrics as Prometheus sees them: promtool's linter on the
// served exposition, and a real Prometheus server scraping it.
#include <doctest/doctest.h>

#include <map>

#include "agent_env.h"
#include "metrics/agent_metrics.h"
#include "metrics/metrics_endpoint.h"

using namespace wscp;
using namespace wscp::agent::testing;
using namespace std::chrono_literals;

namespace {

std::map<std::string, std::string> read_env_file(const std::string& path) {
  std::map<std::string, std::string> env;
  std::istringstream in(read_text(path));
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

std::string scrape(std::uint16_t port) {
  http::Request r;
  r.url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
  r.timeout = 10s;
  auto resp = loopback_client()->send(r);
  REQUIRE_MESSAGE(resp.ok(), (resp.ok() ? "" : resp.error().describe()));
  REQUIRE(resp->status == 200);
  return resp->body;
}

CommandResult promtool_check(const std::string& exposition) {
  char path[] = "/tmp/wscp-metrics-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, exposition.data(), exposition.size()) == static_cast<ssize_t>(exposition.size()));
  ::close(fd);
  auto r = run_command("promtool check metrics < " + std::string(path));
  ::unlink(path);
  return r;
}

void exercise(metrics::AgentMetrics& m) {
  using namespace metrics;
  m.operation_finished(OperationKind::kCheckpoint, OperationResult::kSucceeded);
  m.operation_finished(OperationKind::kRestore, OperationResult::kFailed);
  m.operation_started(OperationKind::kRelease);
  m.step_duration(Step::kDump, 2.5s);
  m.bytes_transferred(Direction::kDownload, 1 << 20);
  m.notice_seen("gce", "termination");
  m.notice_poll_error("aws", "unreachable");
  m.deadline(DeadlineOutcome::kMet);
  m.store_retry("timeout");
  m.store_error("permission");
  m.api_request("POST /v1/operations", 201, 12ms);
  m.api_tls_refusal("expired");
}

}  // namespace

TEST_CASE("metrics: the served exposition passes promtool check metrics") {
  auto m = std::make_shared<metrics::AgentMetrics>("0.1.0");
  exercise(*m);
  auto endpoint = metrics::MetricsEndpoint::start("127.0.0.1", 0, m->registry());
  REQUIRE_MESSAGE(endpoint.ok(), (endpoint.ok() ? "" : endpoint.error().describe()));
  CHECK((*endpoint)->port() != 0);
  const std::string text = scrape((*endpoint)->port());
  CHECK(text.find("wscp_agent_operations_total{kind=\"checkpoint\",result=\"succeeded\"} 1") != std::string::npos);
  auto lint = promtool_check(text);
  CAPTURE(lint.output);
  CHECK(lint.status == 0);
  CHECK(lint.output.empty());
}

TEST_CASE("metrics: promtool would catch a badly named metric (the check can fail)") {
  auto lint = promtool_check("# HELP wscp_agent_things A counter without its suffix.\n"
                             "# TYPE wscp_agent_things counter\nwscp_agent_things 1\n");
  CAPTURE(lint.output);
  CHECK(lint.output.find("_total") != std::string::npos);
}

TEST_CASE("metrics: a port in use is refused, naming it") {
  auto m = std::make_shared<metrics::AgentMetrics>("0.1.0");
  auto first = metrics::MetricsEndpoint::start("127.0.0.1", 0, m->registry());
  REQUIRE(first.ok());
  auto second = metrics::MetricsEndpoint::start("127.0.0.1", (*first)->port(), m->registry());
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code() == ErrorCode::kUnavailable);
  CHECK(second.error().message().find(std::to_string((*first)->port())) != std::string::npos);
}

TEST_CASE("metrics: a real Prometheus scrapes the agent and a query returns the counter just incremented") {
  auto env = read_env_file(required_env("WSCP_PROMETHEUS_STATE", "prometheus") + "/env");
  const std::string prometheus = env.at("WSCP_PROMETHEUS_URL");
  const auto target = static_cast<std::uint16_t>(std::stoi(env.at("WSCP_PROMETHEUS_TARGET_PORT")));
  auto m = std::make_shared<metrics::AgentMetrics>("0.1.0");
  auto endpoint = metrics::MetricsEndpoint::start("127.0.0.1", target, m->registry());
  REQUIRE_MESSAGE(endpoint.ok(), (endpoint.ok() ? "" : endpoint.error().describe()));
  for (int i = 0; i < 3; ++i) m->operation_finished(metrics::OperationKind::kCheckpoint, metrics::OperationResult::kSucceeded);

  auto query = [&](const std::string& promql) -> nlohmann::json {
    http::Request r;
    r.url = prometheus + "/api/v1/query?query=" + http::url_encode(promql);
    r.timeout = 10s;
    auto resp = loopback_client()->send(r);
    if (!resp || resp->status != 200) return nlohmann::json();
    auto j = nlohmann::json::parse(resp->body, nullptr, false);
    if (j.is_discarded() || j["status"] != "success") return nlohmann::json();
    return j["data"]["result"];
  };
  const std::string promql = R"(wscp_agent_operations_total{job="wscp-agent",kind="checkpoint",result="succeeded"})";
  nlohmann::json result;
  const bool seen = eventually(60s, [&] {
    result = query(promql);
    return result.is_array() && result.size() == 1 && result[0]["value"][1] == "3";
  }, 200ms);
  CAPTURE(result.dump());
  CHECK(seen);
  auto up = query(R"(up{job="wscp-agent"})");
  REQUIRE(up.is_array());
  REQUIRE(up.size() == 1);
  CHECK(up[0]["value"][1] == "1");
}
