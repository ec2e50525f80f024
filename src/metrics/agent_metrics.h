#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace prometheus {
class Registry;
}

namespace wscp::metrics {

// Every metric wscp-agent exports, declared here and nowhere else. Names
// follow Prometheus conventions (base units, _total for counters); every
// label value comes from a fixed, small set (listed beside each metric), and
// the series of the fixed sets exist from the start, at zero, so that rate()
// and absent() behave from the first scrape.
//
//   wscp_agent_build_info{version}                                 gauge, 1
//   wscp_agent_operations_total{kind,result}                       counter
//       kind: plan|preflight|checkpoint|restore|release|resume
//       result: succeeded|failed|refused|cancelled
//   wscp_agent_operations_in_flight{kind}                          gauge
//   wscp_agent_step_duration_seconds{step}                         histogram
//       step: freeze|dump|upload|download|restore|settle
//   wscp_agent_transferred_bytes_total{direction}                  counter
//       direction: upload|download
//   wscp_agent_notices_total{provider,kind}                        counter
//       provider: aws|gce|azure; kind: termination|rebalance
//   wscp_agent_notice_poll_errors_total{provider,reason}           counter
//       reason: unreachable|malformed|refused|other
//   wscp_agent_notice_deadlines_total{outcome}                     counter, per workspace
//       outcome: met|missed
//   wscp_agent_store_retries_total{kind}                           counter
//   wscp_agent_store_errors_total{kind}                            counter
//       kind: unavailable|throttled|timeout|integrity|permission|not_found|other
//   wscp_agent_api_requests_total{route,code}                      counter
//       route: the route's pattern ("GET /v1/operations/{id}") or "unmatched"
//   wscp_agent_api_request_duration_seconds{route}                 histogram
//   wscp_agent_api_tls_refusals_total{reason}                      counter
//       reason: untrusted|expired|subject|missing|handshake (connections refused in the TLS handshake)

enum class OperationKind { kPlan, kPreflight, kCheckpoint, kRestore, kRelease, kResume, kDelete };
enum class OperationResult { kSucceeded, kFailed, kRefused, kCancelled };
enum class Step { kFreeze, kDump, kUpload, kDownload, kRestore, kSettle };
enum class Direction { kUpload, kDownload };
enum class DeadlineOutcome { kMet, kMissed };

std::string_view to_string(OperationKind kind);
std::string_view to_string(OperationResult result);
std::string_view to_string(Step step);
std::string_view to_string(Direction direction);
std::string_view to_string(DeadlineOutcome outcome);

// Thread-safe: every method may be called from any thread.
class AgentMetrics {
 public:
  explicit AgentMetrics(std::string_view version);
  ~AgentMetrics();
  AgentMetrics(const AgentMetrics&) = delete;
  AgentMetrics& operator=(const AgentMetrics&) = delete;

  void operation_finished(OperationKind kind, OperationResult result);
  void operation_started(OperationKind kind);   // in flight + 1
  void operation_ended(OperationKind kind);     // in flight - 1
  void step_duration(Step step, std::chrono::duration<double> duration);
  void bytes_transferred(Direction direction, std::uint64_t bytes);
  // provider: aws|gce|azure; kind: termination|rebalance.
  void notice_seen(std::string_view provider, std::string_view kind);
  // reason: unreachable|malformed|refused|other.
  void notice_poll_error(std::string_view provider, std::string_view reason);
  void deadline(DeadlineOutcome outcome);
  void store_retry(std::string_view kind);
  void store_error(std::string_view kind);
  void api_request(std::string_view route, int status, std::chrono::duration<double> duration);
  void api_tls_refusal(std::string_view reason);

  // What /metrics serves.
  std::shared_ptr<prometheus::Registry> registry() const;
  // The registry in the Prometheus text exposition format (version 0.0.4).
  std::string exposition() const;

 private:
  struct Families;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> f_;
};

// Counts one operation as in flight for as long as it lives.
class InFlight {
 public:
  InFlight(AgentMetrics& metrics, OperationKind kind) : metrics_(&metrics), kind_(kind) {
    metrics_->operation_started(kind_);
  }
  ~InFlight() { metrics_->operation_ended(kind_); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  AgentMetrics* metrics_;
  OperationKind kind_;
};

}  // namespace wscp::metrics
