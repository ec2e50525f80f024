#include "controller/controller_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace wscp::controller {

namespace {

using prometheus::Histogram;

const Histogram::BucketBoundaries kReconcileBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
const Histogram::BucketBoundaries kMigrationBuckets = {5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600};

std::string_view result_word(const kube::WorkResult& r) {
  switch (r.kind()) {
    case kube::WorkResult::Kind::kDone: return "done";
    case kube::WorkResult::Kind::kRequeueAfter: return "requeue";
    case kube::WorkResult::Kind::kRetry: return "retry";
    case kube::WorkResult::Kind::kTerminal: return "terminal";
  }
  return "other";
}

}  // namespace

struct ControllerMetrics::Families {
  prometheus::Family<prometheus::Counter>& reconciles;
  prometheus::Family<Histogram>& reconcile_seconds;
  prometheus::Family<prometheus::Gauge>& queue_depth;
  prometheus::Family<Histogram>& queue_latency;
  prometheus::Family<prometheus::Counter>& queue_retries;
  prometheus::Family<prometheus::Counter>& migrations;
  prometheus::Family<Histogram>& migration_seconds;
  prometheus::Family<prometheus::Counter>& deadlines;
  prometheus::Family<prometheus::Gauge>& leader;
  prometheus::Family<prometheus::Gauge>& build;

  explicit Families(prometheus::Registry& r)
      : reconciles(prometheus::BuildCounter()
                       .Name("wscp_controller_reconciles_total")
                       .Help("Reconcile passes, by what they reconciled and how they ended.")
                       .Register(r)),
        reconcile_seconds(prometheus::BuildHistogram()
                              .Name("wscp_controller_reconcile_duration_seconds")
                              .Help("How long one reconcile pass took.")
                              .Register(r)),
        queue_depth(prometheus::BuildGauge()
                        .Name("wscp_controller_queue_depth")
                        .Help("Keys waiting for a worker.")
                        .Register(r)),
        queue_latency(prometheus::BuildHistogram()
                          .Name("wscp_controller_queue_latency_seconds")
                          .Help("How long a key waited for a worker.")
                          .Register(r)),
        queue_retries(prometheus::BuildCounter()
                          .Name("wscp_controller_queue_retries_total")
                          .Help("Keys put back after a failed pass (with backoff).")
                          .Register(r)),
        migrations(prometheus::BuildCounter()
                       .Name("wscp_controller_migrations_total")
                       .Help("WorkspaceCheckpoints that reached a final phase, by reason and result.")
                       .Register(r)),
        migration_seconds(prometheus::BuildHistogram()
                              .Name("wscp_controller_migration_duration_seconds")
                              .Help("From the plan to the final phase, per WorkspaceCheckpoint.")
                              .Register(r)),
        deadlines(prometheus::BuildCounter()
                      .Name("wscp_controller_deadlines_total")
                      .Help("WorkspaceCheckpoints with a deadline, by whether they finished before it.")
                      .Register(r)),
        leader(prometheus::BuildGauge()
                   .Name("wscp_controller_leader")
                   .Help("1 while this replica leads, else 0.")
                   .Register(r)),
        build(prometheus::BuildGauge()
                  .Name("wscp_controller_build_info")
                  .Help("The controller's version (always 1).")
                  .Register(r)) {}
};

namespace {

class QueueObserver final : public kube::WorkQueueObserver {
 public:
  QueueObserver(prometheus::Gauge& depth, Histogram& latency, prometheus::Counter& retries)
      : depth_(depth), latency_(latency), retries_(retries) {}
  void on_depth(std::size_t depth) override { depth_.Set(static_cast<double>(depth)); }
  void on_queue_latency(Duration waited) override {
    latency_.Observe(std::chrono::duration<double>(waited).count());
  }
  void on_retry() override { retries_.Increment(); }

 private:
  prometheus::Gauge& depth_;
  Histogram& latency_;
  prometheus::Counter& retries_;
};

}  // namespace

ControllerMetrics::ControllerMetrics(std::string_view version)
    : registry_(std::make_shared<prometheus::Registry>()), f_(std::make_unique<Families>(*registry_)) {
  f_->build.Add({{"version", std::string(version)}}).Set(1);
  f_->leader.Add({}).Set(0);
  for (const char* kind : {"checkpoint", "node", "retention"}) {
    for (const char* result : {"done", "requeue", "retry", "terminal"}) f_->reconciles.Add({{"kind", kind}, {"result", result}});
  }
  for (bool met : {true, false}) f_->deadlines.Add({{"outcome", met ? "met" : "missed"}});
}

ControllerMetrics::~ControllerMetrics() = default;

void ControllerMetrics::reconciled(std::string_view kind, const kube::WorkResult& result,
                                   std::chrono::duration<double> took) {
  f_->reconciles.Add({{"kind", std::string(kind)}, {"result", std::string(result_word(result))}}).Increment();
  f_->reconcile_seconds.Add({{"kind", std::string(kind)}}, kReconcileBuckets).Observe(took.count());
}

void ControllerMetrics::migration_finished(kube::CheckpointReason reason, kube::CheckpointPhase phase,
                                           std::optional<std::chrono::duration<double>> took) {
  const prometheus::Labels labels{{"reason", std::string(kube::to_string(reason))},
                                  {"result", std::string(kube::to_string(phase))}};
  f_->migrations.Add(labels).Increment();
  if (took) f_->migration_seconds.Add(labels, kMigrationBuckets).Observe(took->count());
}

void ControllerMetrics::deadline(bool met) { f_->deadlines.Add({{"outcome", met ? "met" : "missed"}}).Increment(); }

void ControllerMetrics::leading(bool is_leader) { f_->leader.Add({}).Set(is_leader ? 1 : 0); }

std::shared_ptr<kube::WorkQueueObserver> ControllerMetrics::queue_observer() {
  return std::make_shared<QueueObserver>(f_->queue_depth.Add({}), f_->queue_latency.Add({}, kReconcileBuckets),
                                         f_->queue_retries.Add({}));
}

std::shared_ptr<prometheus::Registry> ControllerMetrics::registry() const { return registry_; }

std::string ControllerMetrics::exposition() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace wscp::controller
