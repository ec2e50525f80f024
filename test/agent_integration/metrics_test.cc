// The agent's metrics as Prometheus sees them: promtool's linter on the
// served exposition, and a real Prometheus server scraping it.
#include <doctest/doctest.h>

#include <map>

#include "agent_env.h"
#include "prometheus_env.h"
#include "metrics/agent_metrics.h"
#include "metrics/metrics_endpoint.h"

using namespace wscp;
using namespace wscp::agent::testing;
using namespace std::chrono_literals;

namespace {

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
  const std::string text = scrape_metrics((*endpoint)->port());
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
  const auto prometheus = PrometheusServer::from_fixture();
  auto m = std::make_shared<metrics::AgentMetrics>("0.1.0");
  auto endpoint = metrics::MetricsEndpoint::start("127.0.0.1", prometheus.target_port, m->registry());
  REQUIRE_MESSAGE(endpoint.ok(), (endpoint.ok() ? "" : endpoint.error().describe()));
  for (int i = 0; i < 3; ++i) m->operation_finished(metrics::OperationKind::kCheckpoint, metrics::OperationResult::kSucceeded);

  auto query = [&](const std::string& promql) { return prometheus.query(promql); };
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
