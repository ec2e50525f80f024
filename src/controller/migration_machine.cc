#include "controller/migration_machine.h"

#include <algorithm>
#include <cctype>

namespace wscp::controller {

namespace {

using agent::operations::Kind;
using agent::operations::Operation;
using agent::operations::Request;
using agent::operations::State;
using kube::CheckpointPhase;
using kube::CheckpointStep;
using kube::ConditionStatus;
using kube::MigrationDecision;
using kube::Time;
using kube::WorkspaceCheckpointStatus;

constexpr std::chrono::milliseconds kPlacementRetry{10'000};

const char* kind_word(Kind kind) {
  switch (kind) {
    case Kind::kCheckpoint: return "checkpoint";
    case Kind::kRestore: return "restore";
    case Kind::kRelease: return "release";
    case Kind::kResume: return "resume";
    case Kind::kDelete: return "delete";
  }
  return "operation";
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// "-r<n>" on every id of retake n (see checkpoint_retakes).
std::string retake_suffix(const CheckpointObject& object) {
  const auto n = object.status.checkpoint_retakes;
  return n > 0 ? "-r" + std::to_string(n) : std::string();
}

const kube::StepTiming* timing_of(const WorkspaceCheckpointStatus& s, CheckpointStep step) {
  for (const auto& t : s.timings) {
    if (t.step == step) return &t;
  }
  return nullptr;
}

kube::StepTiming* timing(WorkspaceCheckpointStatus& s, CheckpointStep step) {
  return const_cast<kube::StepTiming*>(timing_of(s, step));
}

bool step_open(const WorkspaceCheckpointStatus& s, CheckpointStep step) {
  const auto* t = timing_of(s, step);
  return t && !t->finished_at.has_value();
}

void start_step(WorkspaceCheckpointStatus& s, CheckpointStep step, Time now) {
  if (auto* t = timing(s, step)) {
    *t = kube::StepTiming{step, now, std::nullopt, std::nullopt};
    return;
  }
  s.timings.push_back(kube::StepTiming{step, now, std::nullopt, std::nullopt});
}

void finish_step(WorkspaceCheckpointStatus& s, CheckpointStep step, Time now) {
  auto* t = timing(s, step);
  if (!t) {
    start_step(s, step, now);
    t = timing(s, step);
  }
  t->finished_at = now;
  t->duration_milliseconds =
      std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(now - t->started_at).count());
}

bool has_destination(const CheckpointObject& o) { return o.spec.destination.has_value(); }

// Restoring while the checkpoint step is open: the restore began before the
// seal (only a cut-through leaves Checkpointing with that step open).
bool cutting_through(const CheckpointObject& o) {
  return o.status.phase == CheckpointPhase::kRestoring && step_open(o.status, CheckpointStep::kCheckpoint);
}

// An adopted checkpoint is where its agent wrote it.
// spec.restoreFrom's archive is where its resource recorded it.
std::string store_of(const CheckpointObject& o) {
  if (o.status.adopted && o.status.adopted->store) return *o.status.adopted->store;
  if (o.spec.restore_from && o.status.checkpoint)
    return o.status.checkpoint->store == "default" ? std::string() : o.status.checkpoint->store;
  return o.spec.store.value_or("");
}

// A resource with spec.restoreFrom does not stop its workspace (the one it
// names did). Refused before its restore, it leaves everything to that
// one; once its restore began it is a move like any other (a failed
// restore resumes the source, a deletion deletes the archive).
bool restores_another(const CheckpointObject& o) { return o.spec.restore_from.has_value(); }

// The store's name as status.checkpoint records it.
std::string recorded_store(const CheckpointObject& o) {
  const std::string store = store_of(o);
  return store.empty() ? "default" : store;
}

std::string archive_words(const CheckpointObject& o) {
  return "the archive " + checkpoint_id_for(o) + " of workspace " + o.status.workspace_id.value_or("?") +
         " in store " + recorded_store(o);
}

std::string workspace_words(const CheckpointObject& o) {
  if (o.status.workspace_id) return "workspace " + *o.status.workspace_id;
  if (!o.spec.workspace) return "the workspace";
  const auto& w = *o.spec.workspace;
  if (w.container) return "container " + *w.container;
  if (w.compose_project) return "compose project " + *w.compose_project;
  return "workspace " + w.workspace_id.value_or("?");
}

Request request_for(const CheckpointObject& o, Kind kind) {
  Request r;
  r.kind = kind;
  r.checkpoint_id = checkpoint_id_for(o);
  r.store = store_of(o);
  if (kind == Kind::kCheckpoint && o.spec.workspace) {
    const auto& w = *o.spec.workspace;
    if (w.compose_project) r.project = *w.compose_project;
    else r.workspace = w.container ? *w.container : w.workspace_id.value_or("");
    if (o.spec.checkpoint) {
      r.tcp_established = o.spec.checkpoint->tcp_established;
      r.file_locks = o.spec.checkpoint->file_locks;
    }
    return r;
  }
  r.workspace = o.status.workspace_id.value_or("");
  r.cut_through = kind == Kind::kRestore && cutting_through(o);
  return r;
}

Need operation_need(const CheckpointObject& o, Kind kind, const std::string& node, CheckpointStep step) {
  Need n;
  n.kind = Need::Kind::kOperation;
  n.node = node;
  if (step == CheckpointStep::kCheckpoint && o.status.adopted) {
    n.operation_ids.push_back(o.status.adopted->operation);  // the agent's own: never started here
  } else {
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) n.operation_ids.push_back(operation_id_for(o, step, attempt));
  }
  n.request = request_for(o, kind);
  return n;
}

bool recovered_as(const Operation& op, migration::RecoveryAction action) {
  return op.recovery && op.recovery->action == action;
}

// A restart of the source's agent cut the checkpoint short before its seal
// and undid it: the workspace runs there again (or was never frozen), or
// will once a cut-through restore holding its claim gives up.
bool interrupted_before_seal(const Operation& op) {
  return op.state != State::kSucceeded && (recovered_as(op, migration::RecoveryAction::kResumedOnSource) ||
                                            recovered_as(op, migration::RecoveryAction::kLockFreed) ||
                                            recovered_as(op, migration::RecoveryAction::kAwaitingRestorer));
}

// Cancelled before it began (queued when its agent restarted): nothing ran.
bool never_began(const Operation& op) { return op.state == State::kCancelled && op.started_at.empty(); }

// Whether the attempt that ended so is taken again under the next id.
bool worth_another_attempt(Kind kind, const Operation& op) {
  if (op.state == State::kSucceeded) return false;
  if (never_began(op)) return true;
  // A deletion cut short (the store unreachable, the agent restarted) is
  // safe to repeat: it checks again what may go.
  if (kind == Kind::kDelete) return op.failure && op.failure->code == to_string(ErrorCode::kUnavailable);
  // A resume brings a stopped workspace back: try it again, unless there
  // is nothing to resume (no plan: the checkpoint never began).
  const bool nothing_there = op.failure && op.failure->code == to_string(ErrorCode::kNotFound);
  return kind == Kind::kResume && !nothing_there && !recovered_as(op, migration::RecoveryAction::kResumedOnSource);
}

// The status every step writes from: the current one, with the generation seen.
WorkspaceCheckpointStatus next_status(const CheckpointObject& o) {
  WorkspaceCheckpointStatus s = o.status;
  s.observed_generation = o.generation;
  return s;
}

// A status to write, told in an Event with the status's message.
Action record(WorkspaceCheckpointStatus status, bool warning, std::string reason) {
  Action a;
  a.kind = Action::Kind::kWriteStatus;
  a.note = Note{warning, std::move(reason), status.message};
  a.status = std::move(status);
  return a;
}

Action simple(Action::Kind kind, std::chrono::milliseconds after = {}) {
  Action a;
  a.kind = kind;
  a.after = after;
  return a;
}

// Length of the valid UTF-8 sequence at text[i], or 0.
std::size_t utf8_sequence(std::string_view text, std::size_t i) {
  const auto b = static_cast<unsigned char>(text[i]);
  const std::size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > text.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) return 0;
  return n;
}

// Text for status: at most 4000 bytes (status.message holds 4096), cut
// between characters, bytes that are not UTF-8 (an agent's message may
// carry any) replaced, so that the status can always be written as JSON.
std::string bounded(std::string_view text) {
  constexpr std::size_t kMax = 4000;
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_sequence(text, i);
    if (out.size() + std::max<std::size_t>(n, 1) > kMax) return out + "...";
    if (n == 0) {
      out += '?';
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string failure_words(const Operation& op) {
  std::string out = op.failure ? op.failure->message : std::string("it was ") + std::string(to_string(op.state));
  if (op.recovery && !op.recovery->outcome.empty()) out += " (after a restart of the agent: " + op.recovery->outcome + ")";
  return out;
}

// The Checkpointed condition of a checkpoint that ended without a seal;
// an interrupted one is taken again once the source resumed.
constexpr std::string_view kInterrupted = "CheckpointInterrupted";

void set_checkpoint_failed(WorkspaceCheckpointStatus& s, const CheckpointObject& o, const Operation& op, Time now) {
  set_condition(s, kube::kConditionCheckpointed, ConditionStatus::kFalse,
                interrupted_before_seal(op) ? std::string(kInterrupted) : "CheckpointFailed",
                bounded(failure_words(op)), o.generation, now);
}

// The archive is sealed: its record, and Checkpointed True.
void set_sealed(WorkspaceCheckpointStatus& s, const CheckpointObject& o, const Operation& op, std::string_view how,
                Time now) {
  const auto bytes = op.outcome ? op.outcome->archive_bytes : 0;
  s.checkpoint = kube::CheckpointRecord{checkpoint_id_for(o), recorded_store(o), static_cast<std::int64_t>(bytes),
                                        std::nullopt, false};
  set_condition(s, kube::kConditionCheckpointed, ConditionStatus::kTrue, "ManifestWritten",
                "archive " + checkpoint_id_for(o) + " is durable in the store" + std::string(how), o.generation, now);
}

void set_running(WorkspaceCheckpointStatus& s, const CheckpointObject& o, const std::string& node,
                 std::string reason, Time now) {
  s.running_on = kube::RunningOn{node, std::nullopt, std::nullopt};
  set_condition(s, kube::kConditionWorkspaceRunning, ConditionStatus::kTrue, std::move(reason),
                "running on " + node, o.generation, now);
}

// The end of the work: finishedAt, and the deadline's outcome.
void finish(WorkspaceCheckpointStatus& s, const CheckpointObject& o, CheckpointPhase phase, Time now) {
  s.phase = phase;
  s.finished_at = now;
  if (!o.spec.deadline) return;
  const auto margin = std::chrono::duration_cast<std::chrono::milliseconds>(*o.spec.deadline - now).count();
  s.deadline = kube::DeadlineOutcome{margin >= 0, margin};
  set_condition(s, kube::kConditionDeadlineMet, margin >= 0 ? ConditionStatus::kTrue : ConditionStatus::kFalse,
                margin >= 0 ? "FinishedInTime" : "FinishedLate",
                margin >= 0 ? "finished " + std::to_string(margin) + " ms before the deadline"
                            : "finished " + std::to_string(-margin) + " ms after the deadline",
                o.generation, now);
}

// Resume on the source: recorded first, acted on by the next pass.
Action decide_resume(const CheckpointObject& o, Time now, std::string why, std::string reason) {
  auto s = next_status(o);
  s.decision = MigrationDecision::kResume;
  start_step(s, CheckpointStep::kResume, now);
  s.message = bounded(why + "; resuming " + workspace_words(o) + " on " + o.status.source_node.value_or("the source"));
  return record(std::move(s), true, std::move(reason));
}

// spec.restoreFrom: the archive is sealed already; the move starts at
// its preflight, the workspace stopped where the named resource left it.
Action plan_restore_from(const CheckpointObject& o, WorkspaceCheckpointStatus s, const Placement& placement,
                         Time now) {
  s.phase = CheckpointPhase::kCheckpointed;
  s.checkpoint = placement.restore_from;
  s.running_on.reset();
  start_step(s, CheckpointStep::kPreflight, now);
  const std::string from = o.spec.restore_from->name;
  set_condition(s, kube::kConditionCheckpointed, ConditionStatus::kTrue, "RestoreFrom",
                "archive " + placement.restore_from->id + " made by WorkspaceCheckpoint " + from, o.generation, now);
  set_condition(s, kube::kConditionWorkspaceRunning, ConditionStatus::kFalse, "StoppedForCheckpoint",
                "stopped on " + placement.source_node + " (WorkspaceCheckpoint " + from + ")", o.generation, now);
  s.message = "restoring archive " + placement.restore_from->id + " of workspace " + placement.workspace_id +
              " (WorkspaceCheckpoint " + from + "); asking " + placement.destination_node.value_or("?") +
              " whether it can restore it";
  return record(std::move(s), false, "Planned");
}

Action on_placement(const CheckpointObject& o, const Result<Placement>& placement, Time now) {
  if (!placement) {
    if (placement.error().code() == ErrorCode::kUnavailable) {
      // An agent not live for now, a node not ready: the world may change.
      // Say what it waits for (once: the same message is not written again).
      const std::string waiting = bounded("waiting: " + placement.error().message());
      if (o.status.message == waiting) return simple(Action::Kind::kWait, kPlacementRetry);
      auto s = next_status(o);
      s.phase = CheckpointPhase::kPending;
      s.message = waiting;
      return record(std::move(s), false, "Waiting");
    }
    auto s = next_status(o);
    s.message = bounded("cannot move " + workspace_words(o) + ": " + placement.error().message());
    set_condition(s, kube::kConditionCheckpointed, ConditionStatus::kFalse, "NotPlanned", s.message, o.generation,
                  now);
    finish(s, o, CheckpointPhase::kFailed, now);
    return record(std::move(s), true, "Refused");
  }
  auto s = next_status(o);
  s.phase = CheckpointPhase::kCheckpointing;
  s.source_node = placement->source_node;
  s.destination_node = placement->destination_node;
  if (!placement->workspace_id.empty()) s.workspace_id = placement->workspace_id;
  finish_step(s, CheckpointStep::kPlan, now);
  if (placement->restore_from) return plan_restore_from(o, std::move(s), *placement, now);
  start_step(s, CheckpointStep::kCheckpoint, now);
  set_running(s, o, placement->source_node, "NotMovedYet", now);
  const std::string destination =
      placement->destination_node ? ", to restore on " + *placement->destination_node : "";
  if (placement->adopt) {
    s.adopted = placement->adopt;
    s.message = "adopting checkpoint " + placement->adopt->id + " that the agent of " + placement->source_node +
                " makes of " + workspace_words(o) + " on its own (operation " + placement->adopt->operation + ")" +
                destination;
    return record(std::move(s), false, "Adopted");
  }
  s.message = "checkpointing " + workspace_words(o) + " on " + placement->source_node + destination;
  return record(std::move(s), false, "Planned");
}

Action on_checkpoint(const CheckpointObject& o, const Operation& op, Time now) {
  const std::string& source = o.status.source_node.value();
  if (op.state != State::kSucceeded) {
    // Whatever the agent did on the failure (its own resume, a recovery at
    // its restart), the controller resumes the source too and reports what
    // that finds: a resume is idempotent, and the only proof that the
    // workspace runs.
    auto with_failure = o;
    finish_step(with_failure.status, CheckpointStep::kCheckpoint, now);
    set_checkpoint_failed(with_failure.status, o, op, now);
    if (recovered_as(op, migration::RecoveryAction::kAwaitingDecision)) {
      with_failure.status.phase = CheckpointPhase::kCheckpointed;
      return decide_resume(with_failure, now, "the checkpoint was interrupted by a restart of the agent", "Resuming");
    }
    return decide_resume(with_failure, now, "checkpoint on " + source + " failed: " + failure_words(op),
                         interrupted_before_seal(op) ? std::string(kInterrupted) : "CheckpointFailed");
  }
  auto s = next_status(o);
  const auto& out = op.outcome.value_or(agent::operations::Outcome{});
  if (!out.workspace_id.empty() && !o.status.adopted) s.workspace_id = out.workspace_id;
  set_sealed(s, o, op, "", now);
  if (!out.criu.empty()) {
    kube::CriuCheckpointStats sum;
    for (const auto& c : out.criu) {
      sum.freezing_time_us += static_cast<std::int64_t>(c.freezing_time_us);
      sum.frozen_time_us += static_cast<std::int64_t>(c.frozen_time_us);
      sum.memdump_time_us += static_cast<std::int64_t>(c.memdump_time_us);
      sum.memwrite_time_us += static_cast<std::int64_t>(c.memwrite_time_us);
      sum.pages_scanned += static_cast<std::int64_t>(c.pages_scanned);
      sum.pages_written += static_cast<std::int64_t>(c.pages_written);
    }
    s.criu = kube::CriuStats{sum, std::nullopt};
  }
  finish_step(s, CheckpointStep::kCheckpoint, now);
  s.running_on.reset();
  set_condition(s, kube::kConditionWorkspaceRunning, ConditionStatus::kFalse, "StoppedForCheckpoint",
                "stopped on " + source + " after the checkpoint", o.generation, now);
  s.phase = CheckpointPhase::kCheckpointed;
  if (has_destination(o)) {
    start_step(s, CheckpointStep::kPreflight, now);
    s.message = "checkpointed on " + source + "; asking " + o.status.destination_node.value_or("?") +
                " whether it can restore it";
  } else {
    s.message = "checkpointed on " + source + " as " + checkpoint_id_for(o) + "; it stays stopped there: delete this "
                "resource to resume it on " + source;
    finish(s, o, CheckpointPhase::kCheckpointed, now);
  }
  return record(std::move(s), false, "Checkpointed");
}

// A spec.restoreFrom refused before it took anything: the named resource
// still holds the workspace as it left it.
std::string kept_as_it_was(const CheckpointObject& o) {
  return "nothing was touched: the archive and the workspace stay as WorkspaceCheckpoint " +
         o.spec.restore_from->name + " left them (stopped on " + o.status.source_node.value_or("?") + ")";
}

Action on_preflight(const CheckpointObject& o, const std::optional<std::string>& refusal, Time now) {
  const std::string destination = o.status.destination_node.value_or("?");
  if (refusal && restores_another(o)) {
    auto s = next_status(o);
    finish_step(s, CheckpointStep::kPreflight, now);
    s.message = bounded("destination " + destination + " cannot restore it: " + *refusal + "; " + kept_as_it_was(o));
    finish(s, o, CheckpointPhase::kFailed, now);
    return record(std::move(s), true, "PreflightRefused");
  }
  if (refusal) {
    auto with_preflight = o;
    finish_step(with_preflight.status, CheckpointStep::kPreflight, now);
    return decide_resume(with_preflight, now, "destination " + destination + " cannot restore it: " + *refusal,
                         "PreflightRefused");
  }
  auto s = next_status(o);
  finish_step(s, CheckpointStep::kPreflight, now);
  start_step(s, CheckpointStep::kRestore, now);
  s.decision = MigrationDecision::kRestore;
  s.phase = CheckpointPhase::kRestoring;
  s.message = "restoring " + workspace_words(o) + " on " + destination;
  return record(std::move(s), false, "Restoring");
}

Action on_restore(const CheckpointObject& o, const Operation& op, Time now) {
  const std::string destination = o.status.destination_node.value_or("?");
  const bool kept = op.state != State::kSucceeded && op.recovery &&
                    op.recovery->action == migration::RecoveryAction::kRestoreKept;
  if (op.state != State::kSucceeded && !kept && cutting_through(o)) {
    // The checkpoint may still run on the source: its end comes first (a
    // resume beside a running dump would be undone by the freeze).
    auto s = next_status(o);
    finish_step(s, CheckpointStep::kRestore, now);
    set_condition(s, kube::kConditionRestored, ConditionStatus::kFalse, "RestoreFailed", bounded(failure_words(op)),
                  o.generation, now);
    s.message = bounded("restore on " + destination + " failed: " + failure_words(op));
    return record(std::move(s), true, "RestoreFailed");
  }
  if (op.state != State::kSucceeded && !kept) {
    auto with_failure = o;
    finish_step(with_failure.status, CheckpointStep::kRestore, now);
    set_condition(with_failure.status, kube::kConditionRestored, ConditionStatus::kFalse, "RestoreFailed",
                  bounded(failure_words(op)), o.generation, now);
    return decide_resume(with_failure, now, "restore on " + destination + " failed: " + failure_words(op),
                         "RestoreFailed");
  }
  auto s = next_status(o);
  if (cutting_through(o)) {
    // The restore took its archives' last bytes only from a sealed checkpoint.
    finish_step(s, CheckpointStep::kCheckpoint, now);
    set_sealed(s, o, op, " (restored while it was written)", now);
  }
  finish_step(s, CheckpointStep::kRestore, now);
  start_step(s, CheckpointStep::kRelease, now);
  set_condition(s, kube::kConditionRestored, ConditionStatus::kTrue, "Restored", "restored on " + destination,
                o.generation, now);
  set_running(s, o, destination, "Restored", now);
  s.message = "restored on " + destination + "; releasing the source " + o.status.source_node.value_or("?");
  return record(std::move(s), false, "Restored");
}

Action on_release(const CheckpointObject& o, const Operation& op, Time now) {
  auto s = next_status(o);
  finish_step(s, CheckpointStep::kRelease, now);
  const std::string source = o.status.source_node.value_or("?");
  const std::string destination = o.status.destination_node.value_or("?");
  const bool released = op.state == State::kSucceeded || recovered_as(op, migration::RecoveryAction::kReleased);
  set_condition(s, kube::kConditionSourceReleased, released ? ConditionStatus::kTrue : ConditionStatus::kFalse,
                released ? "Released" : "ReleaseFailed",
                released ? "the source " + source + " removed its stopped copy"
                         : bounded("the source " + source + " was not released: " + failure_words(op)),
                o.generation, now);
  if (!released && op.failure && op.failure->code == to_string(ErrorCode::kConflict)) {
    s.message = bounded("restored on " + destination + ", and the source " + source + " refused its release: " +
                        failure_words(op) + "; check both nodes, the workspace may run on each");
    set_condition(s, kube::kConditionWorkspaceRunning, ConditionStatus::kUnknown, "ReleaseRefused", s.message,
                  o.generation, now);
    finish(s, o, CheckpointPhase::kRestored, now);
    return record(std::move(s), true, "ReleaseRefused");
  }
  if (!released) {
    s.message = bounded("restored on " + destination + ", but the source " + source +
                        " was not released: " + failure_words(op) +
                        "; its stopped containers remain there (the workspace runs only on " + destination + ")");
    finish(s, o, CheckpointPhase::kRestored, now);
    return record(std::move(s), true, "ReleaseFailed");
  }
  s.message = "moved from " + source + " to " + destination;
  finish(s, o, CheckpointPhase::kRestored, now);
  return record(std::move(s), false, "Moved");
}

Action finish_deletion(const CheckpointObject& o, Time now);

// A checkpoint a restart of the source's agent interrupted before its seal,
// the workspace running on the source again: the move is worth another
// checkpoint (the agent's own Podman export cannot be read again).
bool worth_a_retake(const CheckpointObject& o) {
  const auto* checkpointed = o.status.condition(kube::kConditionCheckpointed);
  return checkpointed && checkpointed->status == ConditionStatus::kFalse && checkpointed->reason == kInterrupted &&
         !o.deleting && !o.status.adopted && !restores_another(o) &&
         o.status.checkpoint_retakes < kube::kMaxCheckpointRetakes;
}

// Back to Checkpointing under the next retake's ids: the decision, the
// steps after the checkpoint and a failed cut-through's Restored condition
// belonged to the interrupted attempt.
Action retake_checkpoint(const CheckpointObject& o, Time now) {
  const std::string source = o.status.source_node.value_or("?");
  const std::string interrupted = checkpoint_id_for(o);
  auto s = next_status(o);
  ++s.checkpoint_retakes;
  s.decision.reset();
  s.phase = CheckpointPhase::kCheckpointing;
  std::erase_if(s.timings, [](const kube::StepTiming& t) {
    return t.step == CheckpointStep::kPreflight || t.step == CheckpointStep::kRestore ||
           t.step == CheckpointStep::kResume || t.step == CheckpointStep::kRelease;
  });
  std::erase_if(s.conditions, [](const kube::Condition& c) { return c.type == kube::kConditionRestored; });
  start_step(s, CheckpointStep::kCheckpoint, now);
  set_running(s, o, source, "Resumed", now);
  auto next = o;
  next.status = s;
  // Only a new interruption of this retake may lead to another.
  set_condition(s, kube::kConditionCheckpointed, ConditionStatus::kFalse, "Retaking",
                "checkpointing again as " + checkpoint_id_for(next), o.generation, now);
  s.message = "a restart of the agent of " + source + " interrupted checkpoint " + interrupted +
              " before its seal, and the workspace runs there again; checkpointing " + workspace_words(o) +
              " again as " + checkpoint_id_for(next) + " (retake " + std::to_string(s.checkpoint_retakes) + " of " +
              std::to_string(kube::kMaxCheckpointRetakes) + ")";
  return record(std::move(s), true, "Retaking");
}

Action on_resume(const CheckpointObject& o, const Operation& op, int attempts, Time now) {
  const std::string source = o.status.source_node.value_or("?");
  const bool resumed = op.state == State::kSucceeded || recovered_as(op, migration::RecoveryAction::kResumedOnSource);
  // A checkpoint refused before its plan (nothing frozen) leaves nothing
  // to resume: the workspace was never touched.
  const bool untouched = !resumed && !o.status.checkpoint && op.failure && op.failure->code == to_string(ErrorCode::kNotFound);
  if ((resumed || untouched) && o.deleting) {
    // The archive is deleted from what is now true: the workspace runs on the source.
    auto after = o;
    finish_step(after.status, CheckpointStep::kResume, now);
    set_running(after.status, o, source, untouched ? "NotMoved" : "Resumed", now);
    return finish_deletion(after, now);
  }
  auto s = next_status(o);
  finish_step(s, CheckpointStep::kResume, now);
  if (!resumed && !untouched) {
    s.running_on.reset();
    s.message = bounded("resume on " + source + " failed" +
                        (attempts > 1 ? " " + std::to_string(attempts) + " times, last" : std::string()) + ": " +
                        failure_words(op) + "; the archive " + checkpoint_id_for(o) +
                        " is kept in the store: the agent of " + source +
                        " retries when it restarts, or run `wscp-agent resume --pending` on " + source);
    set_condition(s, kube::kConditionWorkspaceRunning, ConditionStatus::kFalse, "ResumeFailed", s.message,
                  o.generation, now);
    finish(s, o, CheckpointPhase::kFailed, now);
    return record(std::move(s), true, "ResumeFailed");
  }
  if (worth_a_retake(o)) return retake_checkpoint(o, now);
  set_running(s, o, source, untouched ? "NotMoved" : "Resumed", now);
  // Why it was resumed was written with the decision.
  s.message = bounded(o.status.message.empty() ? "resumed on " + source : o.status.message + ": done");
  finish(s, o, CheckpointPhase::kFailed, now);
  return record(std::move(s), false, "Resumed");
}

// The checkpoint runs on the source: restore beside it.
Action begin_cut_through(const CheckpointObject& o, Time now) {
  auto s = next_status(o);
  s.decision = MigrationDecision::kRestore;
  s.phase = CheckpointPhase::kRestoring;
  start_step(s, CheckpointStep::kRestore, now);
  s.message = "restoring " + workspace_words(o) + " on " + o.status.destination_node.value_or("?") + " while " +
              o.status.source_node.value_or("?") + " writes the checkpoint (cut-through)";
  return record(std::move(s), false, "CutThrough");
}

bool time_to_cut_through(const CheckpointObject& o, const Need& need, const Operation& op,
                         const MachineOptions& options) {
  return options.cut_through && need.request.kind == Kind::kCheckpoint && op.state == State::kRunning &&
         !op.started_at.empty() && has_destination(o) && o.status.destination_node && o.status.workspace_id &&
         !o.deleting &&
         o.status.phase == CheckpointPhase::kCheckpointing && !o.status.decision;
}

Action start_attempt(const Need& need, int attempt, std::string why) {
  Action a = simple(Action::Kind::kStartOperation);
  a.operation_id = need.operation_ids.at(static_cast<std::size_t>(attempt));
  a.request = need.request;
  a.note = Note{attempt > 0, attempt > 0 ? "Retrying" : "Started",
                std::string(kind_word(need.request.kind)) + " on " + need.node + " (operation " + a.operation_id +
                    ")" + why};
  return a;
}

// A cut-through restore failed: once the checkpoint operation has ended
// (or its agent forgot it), the source is resumed.
Action after_failed_cut_through(const CheckpointObject& o, const std::optional<Operation>& op, Time now) {
  if (op && !agent::operations::finished(op->state)) return simple(Action::Kind::kWait, kPollInterval);
  auto with_checkpoint = o;
  finish_step(with_checkpoint.status, CheckpointStep::kCheckpoint, now);
  if (op && op->state == State::kSucceeded) set_sealed(with_checkpoint.status, o, *op, "", now);
  if (op && op->state != State::kSucceeded) set_checkpoint_failed(with_checkpoint.status, o, *op, now);
  std::string why = o.status.message;
  if (op && op->state != State::kSucceeded) why += "; the checkpoint on the source: " + failure_words(*op);
  return decide_resume(with_checkpoint, now, why, "Resuming");
}

// A checkpoint that ended without a sealed archive. One that an agent's
// restart interrupted after the seal (awaiting the controller's decision)
// has a whole archive: the restore following it may still succeed.
bool checkpoint_failed_unsealed(const Operation& checkpoint) {
  return agent::operations::finished(checkpoint.state) && checkpoint.state != State::kSucceeded &&
         !recovered_as(checkpoint, migration::RecoveryAction::kAwaitingDecision);
}

// The checkpoint a cut-through restore follows failed: the restore is
// cancelled rather than left to notice that the archive stopped growing (its
// follow timeout), so the source resumes as soon as the restore has ended.
Action cancel_cut_through(const CheckpointObject& o, const Operation& restore, const Operation& checkpoint) {
  Action a = simple(Action::Kind::kCancelOperation);
  a.operation_id = restore.id;
  a.note = Note{true, "CheckpointFailed",
                bounded("checkpoint on " + o.status.source_node.value_or("?") + " failed: " + failure_words(checkpoint) +
                        "; cancelling the restore on " + o.status.destination_node.value_or("?") +
                        " that follows it")};
  return a;
}

// An agent publishes a checkpoint it makes on its own before its operation
// may have started: the controller waits for it this long past the
// notice's deadline (or past the plan without one).
constexpr std::chrono::minutes kAdoptedOperationWait{2};

Action adopted_failed(const CheckpointObject& o, std::string why, Time now) {
  Operation failed;
  failed.state = State::kFailed;
  failed.failure = agent::operations::Failure{std::string(to_string(ErrorCode::kNotFound)), std::move(why)};
  return on_checkpoint(o, failed, now);
}

// The agent's own checkpoint operation, followed instead of one of ours.
// nullopt: go on as with the controller's own operation.
std::optional<Action> on_adopted_checkpoint(const CheckpointObject& o, const std::optional<Operation>& op,
                                            Time now) {
  const auto& adopted = *o.status.adopted;
  const std::string source = o.status.source_node.value_or("?");
  if (!op) {
    const auto* started = o.status.timings.empty() ? nullptr : &o.status.timings.front();
    const Time since = o.spec.deadline.value_or(started ? started->started_at : now);
    if (now < since + kAdoptedOperationWait) return simple(Action::Kind::kWait, kPollInterval);
    return adopted_failed(o, "the agent of " + source + " does not know its checkpoint operation " +
                                 adopted.operation, now);
  }
  // The entry and the operation both come from the source's agent, which
  // runs the workspace anyway; what is checked is that they agree.
  if (op->request.kind != Kind::kCheckpoint || op->request.checkpoint_id != adopted.id) {
    return adopted_failed(o, "the operation " + adopted.operation + " the agent of " + source +
                                 " published is not a checkpoint as " + adopted.id + ": it is not used", now);
  }
  if (o.deleting && never_began(*op)) return simple(Action::Kind::kRemoveFinalizer);
  return std::nullopt;
}

// Deleted at a safe state: the archive this resource made goes first.
// Kept (with a Warning) while its workspace runs nowhere known: then the
// archive may be its only copy.
Action finish_deletion(const CheckpointObject& o, Time now) {
  const auto& s = o.status;
  const bool made_archive = s.workspace_id && (s.checkpoint || timing_of(s, CheckpointStep::kCheckpoint));
  if (!made_archive || timing_of(s, CheckpointStep::kDeleteArchive)) return simple(Action::Kind::kRemoveFinalizer);
  auto next = next_status(o);
  if (!runs_somewhere_known(s)) {
    finish_step(next, CheckpointStep::kDeleteArchive, now);
    next.message = archive_words(o) + " is kept: the workspace runs nowhere known, and it may be its only copy";
    for (auto earlier = o; earlier.status.checkpoint_retakes > 0;) {  // interrupted attempts: kept too
      --earlier.status.checkpoint_retakes;
      next.message += "; so is " + checkpoint_id_for(earlier) + " (an interrupted attempt)";
    }
    next.message = bounded(next.message);
    return record(std::move(next), true, "ArchiveKept");
  }
  start_step(next, CheckpointStep::kDeleteArchive, now);
  next.message = "deleting " + archive_words(o) + " (the resource is being deleted)";
  return record(std::move(next), false, "DeletingArchive");
}

// After a retake, each attempt's archive is deleted in turn, the last one
// first, whatever became of the one after it: the count goes down, so the
// archive's id and the deletion's operation ids are the earlier attempt's,
// and the step (with its time bounds) starts again for it.
void then_earlier_attempt(const CheckpointObject& o, WorkspaceCheckpointStatus& s, Time now) {
  if (s.checkpoint_retakes == 0) return;
  --s.checkpoint_retakes;
  start_step(s, CheckpointStep::kDeleteArchive, now);
  auto earlier = o;
  earlier.status = s;
  s.message = bounded(s.message + "; then deleting " + archive_words(earlier) + " (an interrupted attempt)");
}

// Leaves the archive, with a Warning saying why: a deleted resource never
// waits on its archive without bound.
Action archive_kept(const CheckpointObject& o, const std::string& why, Time now) {
  auto s = next_status(o);
  finish_step(s, CheckpointStep::kDeleteArchive, now);
  s.message = bounded(archive_words(o) + " is " + why);
  then_earlier_attempt(o, s, now);
  return record(std::move(s), true, "ArchiveKept");
}

Action on_archive_deleted(const CheckpointObject& o, const Need& need, const Observed& observed, Time now) {
  const auto& op = observed.operation;
  const auto* t = timing_of(o.status, CheckpointStep::kDeleteArchive);
  const Time since = t ? t->started_at : now;
  const bool running = op && !agent::operations::finished(op->state);
  if (observed.unreachable && !running) {
    if (now < since + kArchiveDeletionPatience) return simple(Action::Kind::kWait, kPollInterval);
    return archive_kept(o, "left in the store: the agent of " + need.node + " (nor any other) could not be asked "
                           "to delete it (" + observed.unreachable->message() + "); a deletion it had begun may "
                           "still finish", now);
  }
  if (!op) {
    // Started again until the agent takes it; an agent that refuses it (one
    // without the delete operation, a store it does not know) is given up.
    if (now >= since + kArchiveDeletionPatience) {
      return archive_kept(o, "left in the store: the agent of " + need.node + " did not take the deletion (the "
                             "controller's log says why: an agent without the delete operation, or a store it "
                             "does not know)", now);
    }
    return start_attempt(need, 0, "");
  }
  if (running) {
    if (now < since + kArchiveDeletionLimit) return simple(Action::Kind::kWait, kPollInterval);
    return archive_kept(o, "left in the store: the agent of " + need.node + " had not finished deleting it after " +
                               std::to_string(kArchiveDeletionLimit.count()) + " min (operation " + op->id +
                               "; it may still finish)", now);
  }
  const auto next_attempt = static_cast<std::size_t>(observed.attempt) + 1;
  if (next_attempt < need.operation_ids.size() && worth_another_attempt(Kind::kDelete, *op) &&
      now < since + kArchiveDeletionLimit)
    return start_attempt(need, observed.attempt + 1, ", again: the last attempt " + failure_words(*op));
  if (op->state != State::kSucceeded) return archive_kept(o, "kept: " + failure_words(*op), now);
  auto s = next_status(o);
  finish_step(s, CheckpointStep::kDeleteArchive, now);
  const auto bytes = op->outcome ? op->outcome->archive_bytes : 0;
  s.message = bytes == 0 ? "found nothing of " + archive_words(o) + " left in the store to delete"
                         : "deleted " + archive_words(o) + " (" + std::to_string(bytes) + " bytes)";
  if (op->outcome) {
    for (const auto& w : op->outcome->warnings) s.message = bounded(s.message + "; " + w);
  }
  then_earlier_attempt(o, s, now);
  return record(std::move(s), false, "ArchiveDeleted");
}

Action on_operation(const CheckpointObject& o, const Need& need, const Observed& observed, Time now,
                    const MachineOptions& options) {
  const auto& op = observed.operation;
  if (need.request.kind == Kind::kDelete) return on_archive_deleted(o, need, observed, now);
  if (need.request.kind == Kind::kCheckpoint && o.status.phase == CheckpointPhase::kRestoring) {
    return after_failed_cut_through(o, op, now);
  }
  if (need.request.kind == Kind::kCheckpoint && o.status.adopted) {
    if (auto adopted = on_adopted_checkpoint(o, op, now)) return *adopted;
  } else if (o.deleting && need.request.kind == Kind::kCheckpoint && (!op || never_began(*op))) {
    // Deleted before the checkpoint began: nothing was touched (but the
    // archives of attempts a restart interrupted, when this is a retake;
    // the retake's own has nothing yet, and an agent that has not begun
    // it holds no lock for it).
    if (o.status.checkpoint_retakes > 0) return finish_deletion(o, now);
    return simple(Action::Kind::kRemoveFinalizer);
  }
  // A source that does not answer holds a release, or the resume of a
  // deleted resource, a bounded time (the reconciler reports it only then).
  if (observed.unreachable && !(op && !agent::operations::finished(op->state))) {
    const bool release = need.request.kind == Kind::kRelease;
    const auto* t = timing_of(o.status, release ? CheckpointStep::kRelease : CheckpointStep::kResume);
    if (t && now < t->started_at + kUnansweredSourcePatience) return simple(Action::Kind::kWait, kPollInterval);
    Operation unanswered;
    unanswered.state = State::kFailed;
    unanswered.failure = agent::operations::Failure{
        std::string(to_string(ErrorCode::kUnavailable)),
        "its agent could not be reached for " + std::to_string(kUnansweredSourcePatience.count()) + " min (" +
            observed.unreachable->message() + "); it finishes the " + (release ? "release" : "resume") +
            " from its journal at its next start"};
    return release ? on_release(o, unanswered, now) : on_resume(o, unanswered, observed.attempt + 1, now);
  }
  if (!op) return start_attempt(need, 0, "");
  const bool followed_checkpoint_failed = need.request.kind == Kind::kRestore && cutting_through(o) &&
                                          observed.checkpoint && checkpoint_failed_unsealed(*observed.checkpoint);
  if (!agent::operations::finished(op->state)) {
    if (time_to_cut_through(o, need, *op, options)) return begin_cut_through(o, now);
    if (followed_checkpoint_failed) return cancel_cut_through(o, *op, *observed.checkpoint);
    return simple(Action::Kind::kWait, kPollInterval);
  }
  const auto next_attempt = static_cast<std::size_t>(observed.attempt) + 1;
  // A restore cancelled (or failed) because its checkpoint failed is not tried again.
  if (next_attempt < need.operation_ids.size() && !followed_checkpoint_failed &&
      worth_another_attempt(need.request.kind, *op)) {
    return start_attempt(need, observed.attempt + 1, ", again: the last attempt " + failure_words(*op));
  }
  switch (need.request.kind) {
    case Kind::kCheckpoint: return on_checkpoint(o, *op, now);
    case Kind::kRestore: return on_restore(o, *op, now);
    case Kind::kRelease: return on_release(o, *op, now);
    case Kind::kResume: return on_resume(o, *op, observed.attempt + 1, now);
    case Kind::kDelete: break;  // not a step of a move
  }
  return simple(Action::Kind::kNothing);
}

// Past the plan: a phase beyond Pending (Failed included, when the plan
// was refused).
bool planned(const CheckpointObject& o) { return o.status.phase && *o.status.phase != CheckpointPhase::kPending; }

}  // namespace

std::string checkpoint_id_for(const CheckpointObject& object) {
  if (object.status.adopted) return object.status.adopted->id;
  if (object.spec.restore_from && object.status.checkpoint) return object.status.checkpoint->id;
  return "wscp-" + object.uid + retake_suffix(object);
}

std::string operation_id_for(const CheckpointObject& object, CheckpointStep step, int attempt) {
  return object.uid + "-" + lower(to_string(step)) + retake_suffix(object) +
         (attempt > 0 ? "-a" + std::to_string(attempt) : "");
}

Need what_to_read(const CheckpointObject& o) {
  if (!o.deleting && !o.has_finalizer) return {};
  const auto& s = o.status;
  if (!planned(o)) {
    Need n;
    if (!o.deleting) n.kind = Need::Kind::kPlacement;
    return n;
  }
  if (!s.source_node) return {};  // refused at the plan: nothing ran
  const std::string source = *s.source_node;
  if (o.deleting && step_open(s, CheckpointStep::kDeleteArchive)) {
    return operation_need(o, Kind::kDelete, s.running_on ? s.running_on->node : source,
                          CheckpointStep::kDeleteArchive);
  }
  // The deletion of the archives is the last step: nothing else is read
  // after it (a move deleted while its retake was about to begin is still
  // in Checkpointing).
  if (o.deleting && timing_of(s, CheckpointStep::kDeleteArchive)) return {};
  if (s.decision == MigrationDecision::kResume) {
    if (!step_open(s, CheckpointStep::kResume)) return {};
    return operation_need(o, Kind::kResume, source, CheckpointStep::kResume);
  }
  switch (*s.phase) {
    case CheckpointPhase::kCheckpointing:
      return operation_need(o, Kind::kCheckpoint, source, CheckpointStep::kCheckpoint);
    case CheckpointPhase::kCheckpointed: {
      if (o.deleting || !has_destination(o) || !step_open(s, CheckpointStep::kPreflight)) return {};
      Need n;
      n.kind = Need::Kind::kPreflight;
      n.node = s.destination_node.value_or("");
      n.request.store = store_of(o);
      return n;
    }
    case CheckpointPhase::kRestoring:
      if (step_open(s, CheckpointStep::kRelease))
        return operation_need(o, Kind::kRelease, source, CheckpointStep::kRelease);
      if (cutting_through(o) && !step_open(s, CheckpointStep::kRestore))  // the restore failed
        return operation_need(o, Kind::kCheckpoint, source, CheckpointStep::kCheckpoint);
      if (cutting_through(o)) {
        Need n = operation_need(o, Kind::kRestore, s.destination_node.value_or(""), CheckpointStep::kRestore);
        const Need checkpoint = operation_need(o, Kind::kCheckpoint, source, CheckpointStep::kCheckpoint);
        n.checkpoint_node = checkpoint.node;
        n.checkpoint_operation_ids = checkpoint.operation_ids;
        return n;
      }
      return operation_need(o, Kind::kRestore, s.destination_node.value_or(""), CheckpointStep::kRestore);
    default:
      return {};
  }
}

Action decide(const CheckpointObject& o, const Need& need, const Observed& observed, Time now,
              const MachineOptions& options) {
  if (!o.deleting && !o.has_finalizer) return simple(Action::Kind::kAddFinalizer);
  const auto& s = o.status;
  switch (need.kind) {
    case Need::Kind::kPlacement:
      if (!observed.placement) return simple(Action::Kind::kNothing);
      return on_placement(o, *observed.placement, now);
    case Need::Kind::kPreflight:
      if (!observed.preflight_refusal) return simple(Action::Kind::kNothing);
      return on_preflight(o, *observed.preflight_refusal, now);
    case Need::Kind::kOperation:
      return on_operation(o, need, observed, now, options);
    case Need::Kind::kNothing:
      break;
  }
  if (!o.deleting) {
    // ttlSecondsAfterFinished: the resource goes once it has been final
    // that long (a kept checkpoint's workspace is resumed by the deletion).
    if (!s.finished_at || !o.spec.ttl_seconds_after_finished) return simple(Action::Kind::kNothing);
    // Not while the workspace runs nowhere or maybe twice: the resource is
    // the record of where its archive is and of what to check.
    if (const auto* running = s.condition(kube::kConditionWorkspaceRunning);
        running && running->status != ConditionStatus::kTrue)
      return simple(Action::Kind::kNothing);
    // Nor while its source holds a stopped copy recorded only here.
    if (source_unreleased(s)) return simple(Action::Kind::kNothing);
    const Time expiry = *s.finished_at + std::chrono::seconds(*o.spec.ttl_seconds_after_finished);
    if (now >= expiry) return simple(Action::Kind::kDelete);
    return simple(Action::Kind::kWait,
                  std::chrono::ceil<std::chrono::milliseconds>(expiry - now));
  }
  // Deleted: a checkpoint that stopped the workspace and will not be
  // restored is resumed first; anything else has nothing left running on it.
  if (restores_another(o) && !s.decision) {
    // Refused before its restore began: the named resource keeps the
    // workspace and the archive. (A restore once begun is finished, or
    // undone with a resume, before a deletion gets here.)
    return simple(Action::Kind::kRemoveFinalizer);
  }
  if (s.phase == CheckpointPhase::kCheckpointed && !s.decision) {
    return decide_resume(o, now, "this WorkspaceCheckpoint is being deleted", "Deleting");
  }
  return finish_deletion(o, now);
}

bool source_unreleased(const WorkspaceCheckpointStatus& status) {
  const auto* released = status.condition(kube::kConditionSourceReleased);
  return released && released->status != ConditionStatus::kTrue;
}

bool runs_somewhere_known(const WorkspaceCheckpointStatus& status) {
  const auto* running = status.condition(kube::kConditionWorkspaceRunning);
  return running && running->status == ConditionStatus::kTrue && status.running_on.has_value();
}

void set_condition(WorkspaceCheckpointStatus& status, std::string_view type, ConditionStatus value,
                   std::string reason, std::string message, std::int64_t generation, Time now) {
  for (auto& c : status.conditions) {
    if (c.type != type) continue;
    if (c.status != value) c.last_transition_time = now;
    c.status = value;
    c.reason = std::move(reason);
    c.message = std::move(message);
    c.observed_generation = generation;
    return;
  }
  status.conditions.push_back(
      kube::Condition{std::string(type), value, std::move(reason), std::move(message), generation, now});
}

}  // namespace wscp::controller
