#include "metrics/agent_metrics.h"

#include <doctest/doctest.h>

#include <sstream>

using namespace wscp::metrics;
using namespace std::chrono_literals;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.starts_with(line + "\n");
}

}  // namespace

TEST_CASE("every metric family is declared with HELP and TYPE before anything happens") {
  AgentMetrics m("1.2.3");
  const std::string text = m.exposition();
  for (const char* family :
       {"wscp_agent_build_info", "wscp_agent_operations_total", "wscp_agent_operations_in_flight",
        "wscp_agent_step_duration_seconds", "wscp_agent_transferred_bytes_total", "wscp_agent_notices_total",
        "wscp_agent_notice_deadlines_total", "wscp_agent_store_retries_total", "wscp_agent_store_errors_total"}) {
    CAPTURE(family);
    CHECK(text.find(std::string("# HELP ") + family + " ") != std::string::npos);
    CHECK(text.find(std::string("# TYPE ") + family + " ") != std::string::npos);
  }
  CHECK(has_line(text, R"(wscp_agent_build_info{version="1.2.3"} 1)"));
  // The fixed label sets exist at zero from the start.
  CHECK(has_line(text, R"(wscp_agent_operations_total{kind="checkpoint",result="succeeded"} 0)"));
  CHECK(has_line(text, R"(wscp_agent_notices_total{kind="termination",provider="gce"} 0)"));
  CHECK(has_line(text, R"(wscp_agent_step_duration_seconds_count{step="settle"} 0)"));
}

TEST_CASE("operations, steps, bytes, notices and deadlines are counted under their labels") {
  AgentMetrics m("test");
  m.operation_finished(OperationKind::kCheckpoint, OperationResult::kSucceeded);
  m.operation_finished(OperationKind::kCheckpoint, OperationResult::kSucceeded);
  m.operation_finished(OperationKind::kRestore, OperationResult::kFailed);
  m.step_duration(Step::kFreeze, 1.5s);
  m.step_duration(Step::kFreeze, 0.25s);
  m.bytes_transferred(Direction::kUpload, 1024);
  m.notice_seen("aws", "termination");
  m.notice_poll_error("azure", "malformed");
  m.deadline(DeadlineOutcome::kMissed);
  m.store_retry("throttled");
  m.store_error("integrity");
  m.api_request("GET /healthz", 200, 3ms);
  m.api_tls_refusal("untrusted");
  const std::string t = m.exposition();
  CHECK(has_line(t, R"(wscp_agent_operations_total{kind="checkpoint",result="succeeded"} 2)"));
  CHECK(has_line(t, R"(wscp_agent_operations_total{kind="restore",result="failed"} 1)"));
  CHECK(has_line(t, R"(wscp_agent_step_duration_seconds_count{step="freeze"} 2)"));
  CHECK(has_line(t, R"(wscp_agent_step_duration_seconds_sum{step="freeze"} 1.75)"));
  CHECK(has_line(t, R"(wscp_agent_step_duration_seconds_bucket{step="freeze",le="0.25"} 1)"));
  CHECK(has_line(t, R"(wscp_agent_transferred_bytes_total{direction="upload"} 1024)"));
  CHECK(has_line(t, R"(wscp_agent_notices_total{kind="termination",provider="aws"} 1)"));
  CHECK(has_line(t, R"(wscp_agent_notice_poll_errors_total{provider="azure",reason="malformed"} 1)"));
  CHECK(has_line(t, R"(wscp_agent_notice_deadlines_total{outcome="missed"} 1)"));
  CHECK(has_line(t, R"(wscp_agent_store_retries_total{kind="throttled"} 1)"));
  CHECK(has_line(t, R"(wscp_agent_store_errors_total{kind="integrity"} 1)"));
  CHECK(has_line(t, R"(wscp_agent_api_requests_total{code="200",route="GET /healthz"} 1)"));
  CHECK(has_line(t, R"(wscp_agent_api_tls_refusals_total{reason="untrusted"} 1)"));
}

TEST_CASE("operations in flight go up and down with their scope") {
  AgentMetrics m("test");
  {
    InFlight a(m, OperationKind::kCheckpoint);
    InFlight b(m, OperationKind::kCheckpoint);
    CHECK(has_line(m.exposition(), R"(wscp_agent_operations_in_flight{kind="checkpoint"} 2)"));
  }
  CHECK(has_line(m.exposition(), R"(wscp_agent_operations_in_flight{kind="checkpoint"} 0)"));
}

TEST_CASE("metric names follow the conventions: counters end in _total, durations in _seconds") {
  AgentMetrics m("test");
  m.api_request("GET /healthz", 200, std::chrono::milliseconds(1));  // routes exist once requested
  std::istringstream lines(m.exposition());
  int families = 0;
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("# TYPE ")) continue;
    const std::string rest = line.substr(7);
    const std::string name = rest.substr(0, rest.find(' ')), type = rest.substr(rest.find(' ') + 1);
    CAPTURE(name);
    ++families;
    CHECK(name.starts_with("wscp_agent_"));
    if (type == "counter") CHECK(name.ends_with("_total"));
    if (type == "histogram") CHECK(name.ends_with("_seconds"));
  }
  CHECK(families == 13);
}
