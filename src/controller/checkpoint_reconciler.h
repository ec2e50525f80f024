#pragma once

// One reconcile pass of a WorkspaceCheckpoint: read the object, read what
// the state machine needs (migration_machine.h), act once. Status writes
// carry the resourceVersion read, so a pass that raced another (a standby
// that just took over, a user's edit) fails with a conflict and is retried
// on fresh data instead of overwriting it.

#include <functional>
#include <memory>
#include <optional>
#include <vector>
#include <string>

#include "common/clock.h"
#include "controller/agent_client_factory.h"
#include "controller/controller_metrics.h"
#include "controller/migration_machine.h"
#include "controller/placement_reader.h"
#include "kube/event_recorder.h"
#include "kube/kube_client.h"
#include "kube/worker_pool.h"
#include "log/logger.h"

namespace wscp::controller {

// A WorkspaceCheckpoint as the API server returned it, parsed (spec and
// status validated as the CRD does).
Result<CheckpointObject> parse_checkpoint_object(const nlohmann::json& object);

// The string at `p` in an object read from the API server; "" when absent
// or not a string.
std::string text_at(const nlohmann::json& j, const nlohmann::json::json_pointer& p);

struct ReconcilerDeps {
  kube::KubeClient& kube;
  PlacementReader& placement;
  AgentClientFactory& agents;
  kube::EventRecorder& events;
  std::shared_ptr<log::Logger> logger;
  std::shared_ptr<Clock> clock = system_clock();
  std::string field_manager = "wscp-controller";
  ControllerMetrics* metrics = nullptr;  // optional
  MachineOptions machine;
  // The nodes whose agents are live and can delete archives (optional):
  // asked when the node of a deleted resource's workspace does not answer.
  std::function<std::vector<std::string>()> deletion_agents;
};

class CheckpointReconciler {
 public:
  explicit CheckpointReconciler(ReconcilerDeps deps) : deps_(std::move(deps)) {}
  // key: "<namespace>/<name>".
  kube::WorkResult reconcile(const std::string& key);

 private:
  struct ReadOperation {
    std::optional<agent::operations::Operation> operation;
    int attempt = 0;
  };
  // The latest attempt of the Need's operation that `node`'s agent knows.
  Result<ReadOperation> read_operation(const std::string& node, const Need& need);
  Result<Observed> observe(const CheckpointObject& object, const Need& need);
  kube::WorkResult act(const nlohmann::json& raw, const CheckpointObject& object, const Need& need,
                       const Action& action);
  Status set_finalizer(const nlohmann::json& raw, bool present);
  void tell(const nlohmann::json& raw, const Note& note, std::string_view action);
  void count_finished(const CheckpointObject& before, const kube::WorkspaceCheckpointStatus& after);

  ReconcilerDeps deps_;
};

}  // namespace wscp::controller
