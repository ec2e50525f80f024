#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/evacuation/evacuation_order.h"
#include "agent/inventory/inventory.h"
#include "agent/notices/termination_notice.h"
#include "agent/operations/operation_manager.h"
#include "common/clock.h"
#include "log/logger.h"
#include "metrics/agent_metrics.h"

namespace wscp::agent::evacuation {

struct EvacuationOptions {
  std::string store;  // the configured store the checkpoints go to ("" = the only one)
  std::string priority_label = "wscp.dev/evacuation-priority";
  // The deadline of a notice that names no time: detected + this.
  std::chrono::milliseconds default_window{30'000};
  // After the deadline, how long a checkpoint waits for a restore to claim
  // it before the workspace is resumed in place (the node is still alive).
  std::chrono::milliseconds resume_grace{120'000};
};

// Where one workspace's evacuation stands.
enum class EvacuationState {
  kCheckpointing,  // the checkpoint operation is pending or running
  kCheckpointed,   // sealed in the store: a restore elsewhere may claim it
  kFailed,         // the checkpoint failed (the phase resumed the workspace)
  kResuming,       // unclaimed after deadline + grace: resuming in place
  kResumed,        // running here again
  kMoved,          // a restore claimed it: the workspace lives elsewhere
  kResumeFailed,   // resuming failed: see the operation
};
std::string_view to_string(EvacuationState state);

struct EvacuatedWorkspace {
  Candidate workspace;
  std::string checkpoint_operation;
  std::string resume_operation;
  EvacuationState state = EvacuationState::kCheckpointing;
  std::optional<bool> deadline_met;  // once the checkpoint ended
  std::string error;                 // the failed operation's message
};

// What the agent publishes in its registration (the checkpoints annotation)
// for the controller: the notice, its deadline, and per workspace the
// checkpoint id and its state.
struct Evacuation {
  notices::TerminationNotice notice;
  std::chrono::system_clock::time_point deadline;
  std::string checkpoint_id;
  std::string store;
  std::vector<EvacuatedWorkspace> workspaces;
};
nlohmann::json to_json(const Evacuation& evacuation);

// Acts on a termination notice alone: checkpoints every running workspace
// of the node to the configured store, in evacuation order, as operations
// of the node's manager (so its executor and memory budget bound them like
// any other), then follows them: records per workspace whether the
// checkpoint was durable by the deadline, and, when the node is still alive
// after deadline + grace, resumes in place each checkpoint that no restore
// has claimed (the resume phase takes the claim first, so a restore and a
// resume never both win). A rebalance notice starts nothing. One evacuation
// per notice; a second termination notice while one runs is ignored.
// Thread-safe.
class Evacuator {
 public:
  using WorkspaceLister = std::function<Result<std::vector<inventory::Workspace>>()>;
  // Called with the new state after every change.
  using Publisher = std::function<void(const nlohmann::json&)>;

  Evacuator(operations::OperationManager& manager, WorkspaceLister list, EvacuationOptions options,
            std::shared_ptr<Clock> clock, std::shared_ptr<log::Logger> logger,
            std::shared_ptr<metrics::AgentMetrics> metrics, Publisher publish);

  // Starts the evacuation (from the notice monitor's thread).
  void on_notice(const notices::TerminationNotice& notice);
  // Follows the operations and starts the resumes that are due; the agent
  // calls it every second or so.
  void tick();
  std::optional<Evacuation> current() const;

 private:
  void follow_locked(EvacuatedWorkspace& w);
  void resume_locked(EvacuatedWorkspace& w);
  void publish_locked();

  operations::OperationManager& manager_;
  WorkspaceLister list_;
  EvacuationOptions options_;
  std::shared_ptr<Clock> clock_;
  std::shared_ptr<log::Logger> logger_;
  std::shared_ptr<metrics::AgentMetrics> metrics_;
  Publisher publish_;
  mutable std::mutex mu_;
  std::optional<Evacuation> evacuation_;
};

}  // namespace wscp::agent::evacuation
