#pragma once

// The WorkspaceCheckpoint state machine, as pure functions. Each reconcile
// pass asks what_to_read() of the object, reads that one thing (a placement,
// a preflight verdict, or an agent's operation), and decide() gives one step
// of progress: a status to write, an operation to start, a wait. Everything
// the controller knows between passes is in the object's status, so a
// restarted or standby controller continues where the last one stopped:
//
//   (no phase)     Plan: resolve the source, choose the destination  -> Checkpointing
//   Checkpointing  the checkpoint operation on the source             -> Checkpointed | Failed
//   Checkpointed   with a destination: preflight it from the sealed
//                  plan, then record the decision (Restore or Resume)
//                  before acting on it                                 -> Restoring | (resume)
//   Restoring      the restore on the destination, then the release
//                  of the source                                      -> Restored | (resume)
//
// Cut through (MachineOptions::cut_through): once the checkpoint operation
// runs, the decision Restore is recorded and the phase is Restoring while
// the checkpoint step is still open; the restore follows the archive as it
// is written. Its end closes the checkpoint step (a restore needs the seal).
//   decision Resume  the resume on the source                          -> Failed (running on the source)
//
// Deleted: the move is first brought to a safe state (see decide()); then
// the archive the resource made is deleted by the agent where the
// workspace runs (step DeleteArchive; the agent refuses while any
// workspace may still need it), then the finalizer goes.
//
// A checkpoint that a restart of the source's agent interrupted before its
// seal (the agent's recovery resumed the workspace) is not the end of the
// move: once the controller's resume confirmed the workspace runs on the
// source, the checkpoint is taken again under new ids, at most
// kube::kMaxCheckpointRetakes times (Podman's export cannot be read again
// after the agent's restart, so the upload cannot continue where it stopped).
//
// Operation ids come from the object's uid and the step, so a repeated pass
// finds the operation it started instead of starting another. A checkpoint
// the source's agent made on its own after a termination notice is adopted
// at the plan (status.adopted): the checkpoint step follows the agent's
// operation instead of starting one, and the rest goes on as above.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "agent/operations/operation.h"
#include "common/result.h"
#include "kube/workspace_checkpoint.h"

namespace wscp::controller {

inline constexpr std::string_view kCheckpointFinalizer = "wscp.dev/migration";

// A WorkspaceCheckpoint as the controller reads it.
struct CheckpointObject {
  std::string ns;
  std::string name;
  std::string uid;
  std::int64_t generation = 0;
  bool deleting = false;  // metadata.deletionTimestamp is set
  bool has_finalizer = false;
  kube::WorkspaceCheckpointSpec spec;
  kube::WorkspaceCheckpointStatus status;
};

// Ids derived from the uid: the archive's checkpoint id (an adopted
// checkpoint keeps the agent's), and one operation id per step and attempt
// ("<uid>-restore", then "<uid>-restore-a1", ...). After a retake
// (status.checkpointRetakes n) every id carries "-r<n>":
// "wscp-<uid>-r1", "<uid>-checkpoint-r1", "<uid>-restore-r1-a1".
std::string checkpoint_id_for(const CheckpointObject& object);
std::string operation_id_for(const CheckpointObject& object, kube::CheckpointStep step, int attempt = 0);

// A step's operation is started again under the next attempt's id when the
// agent cancelled it before it began (it was queued when the agent
// restarted), and a resume also when it failed; at most this many times.
inline constexpr int kMaxAttempts = 3;

// What decide() needs read first.
struct Need {
  enum class Kind {
    kNothing,
    kPlacement,  // the source node and (with a destination) the node to restore on
    kPreflight,  // the destination's verdict on the sealed checkpoint
    kOperation,  // an agent's operation
  };
  Kind kind = Kind::kNothing;
  std::string node;  // kPreflight, kOperation: whose agent
  // kOperation: the step's operation ids, one per attempt, in order; the
  // reader asks for them in turn and reports the last one the agent knows.
  std::vector<std::string> operation_ids;
  // kOperation: what each attempt asks for; kPreflight: its store names
  // where the archive is.
  agent::operations::Request request;
  // kOperation of a cut-through restore: the checkpoint's operation ids on
  // the source, read beside it (a checkpoint that failed cancels the restore).
  std::string checkpoint_node;
  std::vector<std::string> checkpoint_operation_ids;
};
Need what_to_read(const CheckpointObject& object);

// Where the workspace runs and where it goes, or why it cannot move
// (no such workspace, another namespace's workspace, no destination).
struct Placement {
  std::string source_node;
  std::string workspace_id;  // the workspace label's value there
  std::optional<std::string> destination_node;  // set when spec.destination is
  // The checkpoint the source's agent is making or made on its own (a
  // termination notice): restored instead of a second dump.
  std::optional<kube::AdoptedCheckpoint> adopt;
  // spec.restoreFrom: the sealed archive the referenced resource made
  // (source_node and workspace_id are its); nothing is checkpointed.
  std::optional<kube::CheckpointRecord> restore_from;
};

// What was read, for the Need given.
struct Observed {
  std::optional<Result<Placement>> placement;  // kPlacement
  // kPreflight: nullopt = it can restore; otherwise the refusal in words.
  std::optional<std::optional<std::string>> preflight_refusal;
  // kOperation: the latest attempt the agent knows, and which attempt it is;
  // nullopt = the agent knows none (never started, or forgotten).
  std::optional<agent::operations::Operation> operation;
  int attempt = 0;
  // kOperation of an archive's deletion or of a release: no agent could be
  // asked (neither is held forever by a node that is gone).
  std::optional<Error> unreachable;
  // kOperation of an archive's deletion: the agent that was read when it
  // is not the Need's node (that one did not answer; any agent with the
  // store can delete it). Operations are then started there.
  std::optional<std::string> agent_node;
  // kOperation of a cut-through restore: the checkpoint's latest attempt on
  // the source, when its agent answered.
  std::optional<agent::operations::Operation> checkpoint;
};

// A line of the object's history (an Event).
struct Note {
  bool warning = false;
  std::string reason;  // CamelCase
  std::string message;
  bool operator==(const Note&) const = default;
};

// One step of progress.
struct Action {
  enum class Kind {
    kAddFinalizer,
    kRemoveFinalizer,
    kWriteStatus,     // then look again at once
    kStartOperation,  // the Need's operation; then poll
    kCancelOperation,  // `operation_id` on the Need's node; then poll
    kWait,            // an operation runs (or a TTL counts down): look again after `after`
    kDelete,          // spec.ttlSecondsAfterFinished has passed: delete the resource
    kNothing,         // final: nothing left to do
  };
  Kind kind = Kind::kNothing;
  kube::WorkspaceCheckpointStatus status;  // kWriteStatus
  std::optional<Note> note;                // kWriteStatus, kStartOperation
  std::chrono::milliseconds after{0};      // kWait
  std::string operation_id;                // kStartOperation, kCancelOperation: on the Need's node
  agent::operations::Request request;      // kStartOperation
};

// How often a running operation is polled.
inline constexpr std::chrono::milliseconds kPollInterval{2000};

// How long a deleted resource waits for an agent to take the deletion of
// its archive (unreachable, or refusing to start it) before it goes and
// leaves the archive (with a Warning naming it).
inline constexpr std::chrono::minutes kArchiveDeletionPatience{2};
// How long a source whose agent does not answer is waited for to release
// its stopped copy once the workspace runs on the destination (then the
// move ends Restored with SourceReleased False), or to resume the
// workspace of a resource being deleted (then it ends Failed, its archive
// kept). Its agent finishes either from its journal at its next start.
inline constexpr std::chrono::minutes kUnansweredSourcePatience{5};
// How long an agent's deletion may run before the resource goes without it.
inline constexpr std::chrono::minutes kArchiveDeletionLimit{10};

// How the controller runs migrations (its flags).
struct MachineOptions {
  // Start the restore while the source still writes the checkpoint (the
  // restore follows the archive; see migration::restore_workspace). Chosen
  // once the checkpoint operation runs; the decision (Restore) is recorded
  // first, and a failure on either side ends in a resume on the source.
  bool cut_through = false;
};

Action decide(const CheckpointObject& object, const Need& need, const Observed& observed, kube::Time now,
              const MachineOptions& options = {});

// Sets a condition, keeping its lastTransitionTime when its status is unchanged.
// WorkspaceRunning is True and status.runningOn names the node: the one
// state in which a resource's archive is nobody's only copy.
bool runs_somewhere_known(const kube::WorkspaceCheckpointStatus& status);
// SourceReleased is there and not True: the source kept its stopped copy
// (and the workspace lock), recorded only in this resource.
bool source_unreleased(const kube::WorkspaceCheckpointStatus& status);

void set_condition(kube::WorkspaceCheckpointStatus& status, std::string_view type, kube::ConditionStatus value,
                   std::string reason, std::string message, std::int64_t generation, kube::Time now);

}  // namespace wscp::controller
