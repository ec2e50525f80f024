#pragma once

// The controller's metrics (Prometheus naming: wscp_controller_...), served
// on a port of its own by metrics::MetricsEndpoint.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "kube/work_queue_observer.h"
#include "kube/worker_pool.h"
#include "kube/workspace_checkpoint.h"

namespace prometheus {
class Registry;
}

namespace wscp::controller {

class ControllerMetrics {
 public:
  explicit ControllerMetrics(std::string_view version);
  ~ControllerMetrics();
  ControllerMetrics(const ControllerMetrics&) = delete;
  ControllerMetrics& operator=(const ControllerMetrics&) = delete;

  // kind: "checkpoint", "node" or "retention".
  void reconciled(std::string_view kind, const kube::WorkResult& result, std::chrono::duration<double> took);
  // A move reached a final phase: Restored, Failed, or Checkpointed (kept).
  void migration_finished(kube::CheckpointReason reason, kube::CheckpointPhase phase,
                          std::optional<std::chrono::duration<double>> took);
  void deadline(bool met);
  void leading(bool is_leader);

  // Depth and latency of the work queue.
  std::shared_ptr<kube::WorkQueueObserver> queue_observer();

  std::shared_ptr<prometheus::Registry> registry() const;
  std::string exposition() const;  // text format 0.0.4

 private:
  struct Families;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> f_;
};

}  // namespace wscp::controller
