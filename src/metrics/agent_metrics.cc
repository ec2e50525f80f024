#include "metrics/agent_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>

namespace wscp::metrics {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

constexpr std::array kKinds = {OperationKind::kPlan, OperationKind::kPreflight, OperationKind::kCheckpoint,
                               OperationKind::kRestore, OperationKind::kRelease, OperationKind::kResume, OperationKind::kDelete};
constexpr std::array kResults = {OperationResult::kSucceeded, OperationResult::kFailed, OperationResult::kRefused,
                                 OperationResult::kCancelled};
constexpr std::array kSteps = {Step::kFreeze, Step::kDump, Step::kUpload, Step::kDownload, Step::kRestore,
                               Step::kSettle};
constexpr std::array kProviders = {"aws", "gce", "azure"};
constexpr std::array kNoticeKinds = {"termination", "rebalance"};
constexpr std::array kPollErrorReasons = {"unreachable", "malformed", "refused", "other"};
constexpr std::array kTlsRefusalReasons = {"untrusted", "expired", "subject", "missing", "handshake"};
constexpr std::array kStoreErrorKinds = {"unavailable", "throttled", "timeout",  "integrity",
                                         "permission",  "not_found", "other"};

// A freeze takes a second, a dump of GiBs minutes.
const Histogram::BucketBoundaries kStepBuckets = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
const Histogram::BucketBoundaries kApiBuckets = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};

std::string label(std::string_view v) { return std::string(v); }

}  // namespace

std::string_view to_string(OperationKind kind) {
  switch (kind) {
    case OperationKind::kPlan: return "plan";
    case OperationKind::kPreflight: return "preflight";
    case OperationKind::kCheckpoint: return "checkpoint";
    case OperationKind::kRestore: return "restore";
    case OperationKind::kRelease: return "release";
    case OperationKind::kResume: return "resume";
    case OperationKind::kDelete: return "delete";
  }
  return "other";
}

std::string_view to_string(OperationResult result) {
  switch (result) {
    case OperationResult::kSucceeded: return "succeeded";
    case OperationResult::kFailed: return "failed";
    case OperationResult::kRefused: return "refused";
    case OperationResult::kCancelled: return "cancelled";
  }
  return "other";
}

std::string_view to_string(Step step) {
  switch (step) {
    case Step::kFreeze: return "freeze";
    case Step::kDump: return "dump";
    case Step::kUpload: return "upload";
    case Step::kDownload: return "download";
    case Step::kRestore: return "restore";
    case Step::kSettle: return "settle";
  }
  return "other";
}

std::string_view to_string(Direction direction) { return direction == Direction::kUpload ? "upload" : "download"; }

std::string_view to_string(DeadlineOutcome outcome) { return outcome == DeadlineOutcome::kMet ? "met" : "missed"; }

struct AgentMetrics::Families {
  explicit Families(prometheus::Registry& r)
      : build_info(prometheus::BuildGauge()
                       .Name("wscp_agent_build_info")
                       .Help("Always 1; the agent's version is the label.")
                       .Register(r)),
        operations(prometheus::BuildCounter()
                       .Name("wscp_agent_operations_total")
                       .Help("Operations finished, by kind and result.")
                       .Register(r)),
        in_flight(prometheus::BuildGauge()
                      .Name("wscp_agent_operations_in_flight")
                      .Help("Operations running now, by kind.")
                      .Register(r)),
        steps(prometheus::BuildHistogram()
                  .Name("wscp_agent_step_duration_seconds")
                  .Help("Duration of each step of an operation (freeze, dump, upload, download, restore, settle).")
                  .Register(r)),
        bytes(prometheus::BuildCounter()
                  .Name("wscp_agent_transferred_bytes_total")
                  .Help("Archive and image bytes moved to or from the store, as Podman wrote or read them (before compression and encryption).")
                  .Register(r)),
        notices(prometheus::BuildCounter()
                    .Name("wscp_agent_notices_total")
                    .Help("Termination notices and rebalance recommendations seen, by provider and kind.")
                    .Register(r)),
        notice_errors(prometheus::BuildCounter()
                          .Name("wscp_agent_notice_poll_errors_total")
                          .Help("Metadata service polls that failed or answered something malformed.")
                          .Register(r)),
        deadlines(prometheus::BuildCounter()
                      .Name("wscp_agent_notice_deadlines_total")
                      .Help("Workspaces checkpointed on a notice, by whether the archive was durable before the deadline.")
                      .Register(r)),
        store_retries(prometheus::BuildCounter()
                          .Name("wscp_agent_store_retries_total")
                          .Help("Store requests retried, by kind of failure.")
                          .Register(r)),
        store_errors(prometheus::BuildCounter()
                         .Name("wscp_agent_store_errors_total")
                         .Help("Store requests that failed for good, by kind of failure.")
                         .Register(r)),
        api_requests(prometheus::BuildCounter()
                         .Name("wscp_agent_api_requests_total")
                         .Help("API requests answered, by route and HTTP status code.")
                         .Register(r)),
        api_durations(prometheus::BuildHistogram()
                          .Name("wscp_agent_api_request_duration_seconds")
                          .Help("Time to answer an API request, by route.")
                          .Register(r)),
        tls_refusals(prometheus::BuildCounter()
                         .Name("wscp_agent_api_tls_refusals_total")
                         .Help("Client certificates refused during the TLS handshake, by reason.")
                         .Register(r)) {}

  Family<Gauge>& build_info;
  Family<Counter>& operations;
  Family<Gauge>& in_flight;
  Family<Histogram>& steps;
  Family<Counter>& bytes;
  Family<Counter>& notices;
  Family<Counter>& notice_errors;
  Family<Counter>& deadlines;
  Family<Counter>& store_retries;
  Family<Counter>& store_errors;
  Family<Counter>& api_requests;
  Family<Histogram>& api_durations;
  Family<Counter>& tls_refusals;
};

AgentMetrics::AgentMetrics(std::string_view version)
    : registry_(std::make_shared<prometheus::Registry>()), f_(std::make_unique<Families>(*registry_)) {
  f_->build_info.Add({{"version", label(version)}}).Set(1);
  for (auto kind : kKinds) {
    for (auto result : kResults) f_->operations.Add({{"kind", label(to_string(kind))}, {"result", label(to_string(result))}});
    f_->in_flight.Add({{"kind", label(to_string(kind))}});
  }
  for (auto step : kSteps) f_->steps.Add({{"step", label(to_string(step))}}, kStepBuckets);
  for (auto d : {Direction::kUpload, Direction::kDownload}) f_->bytes.Add({{"direction", label(to_string(d))}});
  for (const char* p : kProviders) {
    for (const char* k : kNoticeKinds) f_->notices.Add({{"provider", p}, {"kind", k}});
    for (const char* r : kPollErrorReasons) f_->notice_errors.Add({{"provider", p}, {"reason", r}});
  }
  for (const char* r : kTlsRefusalReasons) f_->tls_refusals.Add({{"reason", r}});
  for (auto o : {DeadlineOutcome::kMet, DeadlineOutcome::kMissed}) f_->deadlines.Add({{"outcome", label(to_string(o))}});
  for (const char* k : kStoreErrorKinds) {
    f_->store_retries.Add({{"kind", k}});
    f_->store_errors.Add({{"kind", k}});
  }
}

AgentMetrics::~AgentMetrics() = default;

void AgentMetrics::operation_finished(OperationKind kind, OperationResult result) {
  f_->operations.Add({{"kind", label(to_string(kind))}, {"result", label(to_string(result))}}).Increment();
}

void AgentMetrics::operation_started(OperationKind kind) {
  f_->in_flight.Add({{"kind", label(to_string(kind))}}).Increment();
}

void AgentMetrics::operation_ended(OperationKind kind) {
  f_->in_flight.Add({{"kind", label(to_string(kind))}}).Decrement();
}

void AgentMetrics::step_duration(Step step, std::chrono::duration<double> duration) {
  f_->steps.Add({{"step", label(to_string(step))}}, kStepBuckets).Observe(duration.count());
}

void AgentMetrics::bytes_transferred(Direction direction, std::uint64_t bytes) {
  f_->bytes.Add({{"direction", label(to_string(direction))}}).Increment(static_cast<double>(bytes));
}

void AgentMetrics::notice_seen(std::string_view provider, std::string_view kind) {
  f_->notices.Add({{"provider", label(provider)}, {"kind", label(kind)}}).Increment();
}

void AgentMetrics::notice_poll_error(std::string_view provider, std::string_view reason) {
  f_->notice_errors.Add({{"provider", label(provider)}, {"reason", label(reason)}}).Increment();
}

void AgentMetrics::deadline(DeadlineOutcome outcome) {
  f_->deadlines.Add({{"outcome", label(to_string(outcome))}}).Increment();
}

void AgentMetrics::store_retry(std::string_view kind) { f_->store_retries.Add({{"kind", label(kind)}}).Increment(); }

void AgentMetrics::store_error(std::string_view kind) { f_->store_errors.Add({{"kind", label(kind)}}).Increment(); }

void AgentMetrics::api_request(std::string_view route, int status, std::chrono::duration<double> duration) {
  f_->api_requests.Add({{"route", label(route)}, {"code", std::to_string(status)}}).Increment();
  f_->api_durations.Add({{"route", label(route)}}, kApiBuckets).Observe(duration.count());
}

void AgentMetrics::api_tls_refusal(std::string_view reason) {
  f_->tls_refusals.Add({{"reason", label(reason)}}).Increment();
}

std::shared_ptr<prometheus::Registry> AgentMetrics::registry() const { return registry_; }

std::string AgentMetrics::exposition() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace wscp::metrics
