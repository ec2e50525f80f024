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
#include "migration/claim.h"
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
  // The first attempt's operation id; attempt N > 0 is "<base>-rN", under
  // checkpoint id "<notice's>-rN" (a fresh id: the first one's journal and
  // store entries stay as recovery left them).
  std::string checkpoint_base;
  int checkpoint_attempt = 0;
  std::string checkpoint_operation;
  bool started = false;  // the manager took the checkpoint operation
  std::string resume_operation;
  int resume_attempts = 0;
  std::chrono::system_clock::time_point next_resume{};
  EvacuationState state = EvacuationState::kCheckpointing;
  std::optional<bool> deadline_met;  // once the checkpoint ended
  std::string error;                 // the failed operation's message, or why it waits
};

// What the agent publishes in its registration (the checkpoints annotation)
// for the controller: the notice, its deadline, and per workspace the
// checkpoint id and its state.
struct Evacuation {
  notices::TerminationNotice notice;
  std::chrono::system_clock::time_point deadline;
  std::string checkpoint_id;
  std::string store;
  bool listed = false;  // the node's workspaces were listed (retried until the deadline)
  bool acknowledged = false;  // the provider was told it may go ahead (Azure StartRequests)
  std::vector<EvacuatedWorkspace> workspaces;
};
nlohmann::json to_json(const Evacuation& evacuation);
// The checkpoint id of a workspace's current attempt.
std::string checkpoint_id_of(const Evacuation& evacuation, const EvacuatedWorkspace& workspace);

// Acts on a termination notice alone: checkpoints every running workspace
// of the node to the configured store, in evacuation order, as operations
// of the node's manager (so its executor and memory budget bound them like
// any other), then follows them: records per workspace whether the
// checkpoint was durable by the deadline, and, when the node is still alive
// after deadline + grace, resumes in place each checkpoint that no restore
// has claimed (the resume phase takes the claim first, so a restore and a
// resume never both win; a resume refused while a restore is still in
// progress is tried again, since that restore may yet give up).
//
// What fails for a while is retried on tick() until the deadline: listing
// the workspaces, starting an operation the manager refused (another one
// runs on the workspace, say), and a checkpoint that an agent restart
// interrupted before its seal (cancelled before it began, or recovered by
// resuming the workspace): it is checkpointed again under a new attempt's
// ids. One whose recovery found it sealed is checkpointed. After an agent restart the same notice
// adopts the checkpoint operations it had started (their ids depend only on
// the notice and the workspace). A rebalance notice starts nothing; a
// termination notice while an evacuation is unfinished is ignored.
//
// With an acknowledger, once every workspace's checkpoint is durable (none
// failed), the provider is told it need not wait for its deadline (Azure's
// StartRequests); a failed call is tried again on the next tick.
// Thread-safe; nothing slow runs under its lock but the manager's calls.
class Evacuator {
 public:
  using WorkspaceLister = std::function<Result<std::vector<inventory::Workspace>>()>;
  // Called with the new state after every change.
  using Publisher = std::function<void(const nlohmann::json&)>;
  // The checkpoint's claim in the store (who restored or resumed it).
  using ClaimReader = std::function<Result<migration::ClaimState>(const std::string& store, const std::string& workspace_id,
                                                                  const std::string& checkpoint_id)>;
  // Tells the notice's provider that the node's workspaces are safe.
  using Acknowledger = std::function<Status(const notices::TerminationNotice&)>;

  Evacuator(operations::OperationManager& manager, WorkspaceLister list, ClaimReader claims,
            EvacuationOptions options, std::shared_ptr<Clock> clock, std::shared_ptr<log::Logger> logger,
            std::shared_ptr<metrics::AgentMetrics> metrics, Publisher publish, Acknowledger acknowledge = nullptr);

  // Starts the evacuation (from the notice monitor's thread).
  void on_notice(const notices::TerminationNotice& notice);
  // Follows the operations and starts the resumes that are due; the agent
  // calls it every second or so.
  void tick();
  std::optional<Evacuation> current() const;

 private:
  void adopt_locked(Evacuation& e);
  void add_candidates_locked(const std::vector<inventory::Workspace>& listed);
  void start_pending_locked();
  void follow_locked(EvacuatedWorkspace& w);
  bool retry_checkpoint_locked(EvacuatedWorkspace& w, const operations::Operation& op);
  void resume_locked(EvacuatedWorkspace& w);
  void resume_refused_locked(EvacuatedWorkspace& w, const std::string& why);
  bool finished_locked() const;
  bool all_durable_locked() const;
  void acknowledge_if_durable();
  void publish_locked();

  operations::OperationManager& manager_;
  WorkspaceLister list_;
  ClaimReader claims_;
  EvacuationOptions options_;
  std::shared_ptr<Clock> clock_;
  std::shared_ptr<log::Logger> logger_;
  std::shared_ptr<metrics::AgentMetrics> metrics_;
  Publisher publish_;
  Acknowledger acknowledge_;
  mutable std::mutex mu_;
  std::optional<Evacuation> evacuation_;
};

}  // namespace wscp::agent::evacuation
