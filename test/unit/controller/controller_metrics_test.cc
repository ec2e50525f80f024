#include <doctest/doctest.h>

#include "controller/controller_metrics.h"

using namespace wscp;
using namespace wscp::controller;

namespace {
bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("controller metrics: reconciles, moves, deadlines, queue and leadership as Prometheus names them") {
  ControllerMetrics m("1.2.3");
  m.reconciled("checkpoint", kube::WorkResult::requeue_after({}), std::chrono::milliseconds(30));
  m.reconciled("checkpoint", kube::WorkResult::retry(Error(ErrorCode::kUnavailable, "x")), std::chrono::milliseconds(5));
  m.reconciled("node", kube::WorkResult::done(), std::chrono::milliseconds(1));
  m.migration_finished(kube::CheckpointReason::kSpotInterruption, kube::CheckpointPhase::kRestored,
                       std::chrono::seconds(42));
  m.migration_finished(kube::CheckpointReason::kManual, kube::CheckpointPhase::kFailed, std::nullopt);
  m.deadline(false);
  m.leading(true);
  auto observer = m.queue_observer();
  observer->on_depth(7);
  observer->on_queue_latency(std::chrono::milliseconds(20));
  observer->on_retry();

  const std::string text = m.exposition();
  INFO(text);
  CHECK(has(text, "wscp_controller_reconciles_total{kind=\"checkpoint\",result=\"requeue\"} 1"));
  CHECK(has(text, "wscp_controller_reconciles_total{kind=\"checkpoint\",result=\"retry\"} 1"));
  CHECK(has(text, "wscp_controller_reconciles_total{kind=\"node\",result=\"done\"} 1"));
  CHECK(has(text, "wscp_controller_reconciles_total{kind=\"node\",result=\"terminal\"} 0"));  // present from the start
  CHECK(has(text, "wscp_controller_reconcile_duration_seconds_count{kind=\"checkpoint\"} 2"));
  CHECK(has(text, "wscp_controller_migrations_total{reason=\"SpotInterruption\",result=\"Restored\"} 1"));
  CHECK(has(text, "wscp_controller_migrations_total{reason=\"Manual\",result=\"Failed\"} 1"));
  CHECK(has(text, "wscp_controller_migration_duration_seconds_sum{reason=\"SpotInterruption\",result=\"Restored\"} 42"));
  CHECK_FALSE(has(text, "wscp_controller_migration_duration_seconds_count{reason=\"Manual\""));  // no duration known
  CHECK(has(text, "wscp_controller_deadlines_total{outcome=\"missed\"} 1"));
  CHECK(has(text, "wscp_controller_deadlines_total{outcome=\"met\"} 0"));
  CHECK(has(text, "wscp_controller_leader 1"));
  CHECK(has(text, "wscp_controller_queue_depth 7"));
  CHECK(has(text, "wscp_controller_queue_latency_seconds_count 1"));
  CHECK(has(text, "wscp_controller_queue_retries_total 1"));
  CHECK(has(text, "wscp_controller_build_info{version=\"1.2.3\"} 1"));
  m.leading(false);
  CHECK(has(m.exposition(), "wscp_controller_leader 0"));
}
