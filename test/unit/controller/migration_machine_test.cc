// The WorkspaceCheckpoint state machine, driven pass by pass against a
// simulated world: agents whose operations finish as each test scripts them.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>

#include <set>

#include <map>

#include "controller/migration_machine.h"

using namespace wscp;
using namespace wscp::controller;
using agent::operations::Kind;
using agent::operations::Operation;
using agent::operations::State;
using kube::CheckpointPhase;
using kube::CheckpointStep;
using kube::ConditionStatus;
using kube::MigrationDecision;

namespace {

const kube::Time kT0 = kube::parse_rfc3339("2030-01-01T10:00:00Z").value();

CheckpointObject migration_object() {
  CheckpointObject o;
  o.ns = "team-a";
  o.name = "move-dev";
  o.uid = "0f4c7e9a-1b2c-4d5e-8f90-123456789abc";
  o.generation = 1;
  kube::WorkspaceRef w;
  w.node = "node-1";
  w.container = "dev";
  o.spec.workspace = w;
  o.spec.destination = kube::Destination{};
  return o;
}

// How an operation ends when the simulated agent runs it.
struct Script {
  State state = State::kSucceeded;
  std::string failure;
  std::optional<agent::operations::Recovery> recovery;
  std::string code = "restore failed";  // the failure's code, as Failure::from writes it
  bool began = true;                     // false: cancelled while still queued
};

Script cancelled_before_it_began() {
  return Script{State::kCancelled, "cancelled at the agent's restart", std::nullopt,
                std::string(to_string(ErrorCode::kCancelled)), false};
}

Script fails(std::string why, std::optional<agent::operations::Recovery> recovery = std::nullopt,
             std::string code = "restore failed") {
  return Script{State::kFailed, std::move(why), std::move(recovery), std::move(code)};
}

// The world the controller reads: placements, preflight verdicts, agents.
struct World {
  Result<Placement> placement = Placement{"node-1", "ws-dev", std::string("node-2"), std::nullopt, std::nullopt};
  std::optional<std::string> preflight_refusal;
  std::map<Kind, Script> scripts;  // how every attempt of a kind ends
  std::map<Kind, std::vector<Script>> first_attempts;  // how the first ones end, in order
  std::map<Kind, int> runs_for;  // advances an operation of a kind stays running (begun) before it ends
  bool resumed_beside_running_checkpoint = false;
  std::map<std::string, Operation> operations;  // by id
  std::map<std::string, std::string> node_of;   // operation id -> node
  std::map<std::string, int> starts;            // operation id -> times started
  std::vector<Note> notes;
  std::vector<std::string> log;  // "write Restoring decision=Restore", "start restore node-2", ...
  kube::Time now = kT0;
  std::optional<Operation> appears;  // an operation the agent starts on its own, after `appears_after` advances
  int appears_after = 0;
  std::set<std::string> unreachable;  // nodes whose agent does not answer (read for a deletion or a release only)
  std::set<Kind> refused_starts;      // kinds the agents refuse to start (an older agent)
  std::set<Kind> queued;              // kinds whose operations wait for the agent's budget (never begin)

  Observed read(const Need& need) {
    Observed o;
    if (need.kind == Need::Kind::kOperation && unreachable.count(need.node)) {
      REQUIRE((need.request.kind == Kind::kDelete || need.request.kind == Kind::kRelease ||
               need.request.kind == Kind::kResume));
      o.unreachable = Error(ErrorCode::kUnavailable, "connection refused");
      return o;
    }
    switch (need.kind) {
      case Need::Kind::kPlacement: o.placement = placement; break;
      case Need::Kind::kPreflight: o.preflight_refusal = preflight_refusal; break;
      case Need::Kind::kOperation: {
        for (std::size_t i = 0; i < need.operation_ids.size(); ++i) {
          auto it = operations.find(need.operation_ids[i]);
          if (it == operations.end()) break;
          o.operation = it->second;
          o.attempt = static_cast<int>(i);
        }
        for (const auto& id : need.checkpoint_operation_ids) {
          if (auto it = operations.find(id); it != operations.end()) o.checkpoint = it->second;
        }
        break;
      }
      case Need::Kind::kNothing: break;
    }
    return o;
  }

  // An agent: the same id again is the same operation, never a second one.
  void start(const Need& need, const Action& a) {
    ++starts[a.operation_id];
    if (refused_starts.count(a.request.kind)) {
      now += std::chrono::seconds(2);  // the reconciler's back-off before it asks again
      return;
    }
    for (const auto& [id, op] : operations) {
      if (a.request.kind == Kind::kResume && op.request.kind == Kind::kCheckpoint && op.state == State::kRunning)
        resumed_beside_running_checkpoint = true;
    }
    if (operations.count(a.operation_id)) return;
    Operation op;
    op.id = a.operation_id;
    op.request = a.request;
    op.state = State::kRunning;
    operations[a.operation_id] = op;
    node_of[a.operation_id] = need.node;
    log.push_back(std::string("start ") + std::string(to_string(a.request.kind)) + " " + need.node);
  }

  // An agent's cancel: a running operation ends cancelled; an ended one stays.
  void cancel(const Need& need, const std::string& id) {
    log.push_back("cancel " + std::string(to_string(operations.at(id).request.kind)) + " " + need.node);
    auto& op = operations.at(id);
    if (op.state != State::kRunning) return;
    op.state = State::kCancelled;
    op.failure = agent::operations::Failure{"cancelled", "cancelled"};
  }

  // Time passes: every running operation ends as scripted.
  void advance() {
    now += std::chrono::seconds(2);
    if (appears && --appears_after <= 0) {
      operations[appears->id] = *appears;
      appears.reset();
      return;
    }
    for (auto& [id, op] : operations) {
      if (op.state != State::kRunning) continue;
      if (queued.count(op.request.kind)) continue;
      if (runs_for[op.request.kind] > 0) {
        --runs_for[op.request.kind];
        op.started_at = "2030-01-01T10:00:01Z";
        continue;
      }
      Script s = scripts.count(op.request.kind) ? scripts.at(op.request.kind) : Script{};
      if (auto& firsts = first_attempts[op.request.kind]; !firsts.empty()) {
        s = firsts.front();
        firsts.erase(firsts.begin());
      }
      op.state = s.state;
      if (s.began) op.started_at = "2030-01-01T10:00:01Z";
      if (s.state == State::kSucceeded) {
        agent::operations::Outcome out;
        out.workspace_id = "ws-dev";
        out.checkpoint_id = op.request.checkpoint_id;
        if (op.request.kind == Kind::kCheckpoint) {
          out.archive_bytes = 512ull << 20;
          out.criu = {agent::operations::CriuStats{"dev", 10, 200, 30, 40, 1000, 900},
                      agent::operations::CriuStats{"db", 1, 20, 3, 4, 100, 90}};
        }
        op.outcome = out;
      } else {
        op.failure = agent::operations::Failure{s.code, s.failure};
      }
      op.recovery = s.recovery;
    }
  }
};

// Runs passes until the machine has nothing left to do (or `max_passes`).
// Each pass, like a reconcile, reads what the status says to read and acts.
// `lose_writes`: every status write is lost once (a crash or a conflict
// after the step was decided), so the pass runs again on the old status.
// `until`: stop before the pass in which it holds.
void run(CheckpointObject& o, World& w, int max_passes = 60, bool lose_writes = false,
         const MachineOptions& options = {}, const std::function<bool()>& until = {}) {
  bool lost_last = false;
  for (int i = 0; i < max_passes; ++i) {
    if (until && until()) return;
    const Need need = what_to_read(o);
    const Action a = decide(o, need, w.read(need), w.now, options);
    switch (a.kind) {
      case Action::Kind::kAddFinalizer: o.has_finalizer = true; break;
      case Action::Kind::kRemoveFinalizer: o.has_finalizer = false; w.log.push_back("remove finalizer"); return;
      case Action::Kind::kWriteStatus: {
        if (lose_writes && !lost_last) {
          lost_last = true;
          continue;
        }
        lost_last = false;
        o.status = a.status;
        std::string line = "write " + std::string(to_string(o.status.phase.value_or(CheckpointPhase::kPending)));
        if (o.status.decision) line += " decision=" + std::string(to_string(*o.status.decision));
        w.log.push_back(line);
        break;
      }
      case Action::Kind::kStartOperation: w.start(need, a); break;
      case Action::Kind::kCancelOperation: w.cancel(need, a.operation_id); w.advance(); break;
      case Action::Kind::kWait: w.advance(); break;
      case Action::Kind::kDelete: o.deleting = true; w.log.push_back("delete"); break;
      case Action::Kind::kNothing: return;
    }
    if (a.note) w.notes.push_back(*a.note);
  }
  FAIL("the machine did not settle in ", max_passes, " passes");
}

// The passes up to the checkpoint's start (finalizer, plan, start), nothing
// advancing: the checkpoint runs when it returns.
void run_to_checkpoint_start(CheckpointObject& o, World& w) {
  for (int i = 0; i < 3; ++i) {
    const Need need = what_to_read(o);
    const Action a = decide(o, need, w.read(need), w.now);
    if (a.kind == Action::Kind::kAddFinalizer) o.has_finalizer = true;
    if (a.kind == Action::Kind::kWriteStatus) o.status = a.status;
    if (a.kind == Action::Kind::kStartOperation) w.start(need, a);
  }
  REQUIRE(w.starts.count(operation_id_for(o, CheckpointStep::kCheckpoint)) == 1);
}

const kube::Condition& condition(const CheckpointObject& o, std::string_view type) {
  const auto* c = o.status.condition(type);
  REQUIRE_MESSAGE(c != nullptr, "no condition ", type);
  return *c;
}

bool has_note(const World& w, std::string_view reason) {
  for (const auto& n : w.notes) {
    if (n.reason == reason) return true;
  }
  return false;
}

std::size_t index_of(const std::vector<std::string>& log, std::string_view line) {
  for (std::size_t i = 0; i < log.size(); ++i) {
    if (log[i] == line) return i;
  }
  FAIL("no '", line, "' in the log");
  return log.size();
}

}  // namespace

TEST_CASE("ids come from the uid and the step, and are valid operation ids") {
  auto o = migration_object();
  CHECK(checkpoint_id_for(o) == "wscp-0f4c7e9a-1b2c-4d5e-8f90-123456789abc");
  CHECK(operation_id_for(o, CheckpointStep::kCheckpoint) == "0f4c7e9a-1b2c-4d5e-8f90-123456789abc-checkpoint");
  for (auto step : {CheckpointStep::kCheckpoint, CheckpointStep::kRestore, CheckpointStep::kRelease,
                    CheckpointStep::kResume}) {
    CHECK(agent::operations::validate_operation_id(operation_id_for(o, step)));
  }
  auto retaken = o;
  retaken.status.checkpoint_retakes = 2;
  CHECK(checkpoint_id_for(retaken) == "wscp-0f4c7e9a-1b2c-4d5e-8f90-123456789abc-r2");
  CHECK(operation_id_for(retaken, CheckpointStep::kRestore, 1) == "0f4c7e9a-1b2c-4d5e-8f90-123456789abc-restore-r2-a1");
  CHECK(agent::operations::validate_operation_id(operation_id_for(retaken, CheckpointStep::kDeleteArchive, 2)));
  auto other = o;
  other.uid = "11111111-2222-3333-4444-555555555555";
  CHECK(operation_id_for(other, CheckpointStep::kRestore) != operation_id_for(o, CheckpointStep::kRestore));
}

TEST_CASE("a migration: finalizer, plan, checkpoint, preflight, decision, restore, release") {
  auto o = migration_object();
  o.spec.deadline = kT0 + std::chrono::minutes(2);
  World w;
  run(o, w);

  CHECK(o.has_finalizer);
  CHECK(o.status.phase == CheckpointPhase::kRestored);
  CHECK(o.status.source_node == "node-1");
  CHECK(o.status.destination_node == "node-2");
  CHECK(o.status.workspace_id == "ws-dev");
  CHECK(o.status.decision == MigrationDecision::kRestore);
  REQUIRE(o.status.running_on);
  CHECK(o.status.running_on->node == "node-2");
  CHECK(o.status.finished_at == w.now);
  CHECK(o.status.observed_generation == 1);
  REQUIRE(o.status.checkpoint);
  CHECK(o.status.checkpoint->id == checkpoint_id_for(o));
  CHECK(o.status.checkpoint->bytes == (512ll << 20));
  REQUIRE(o.status.criu);
  REQUIRE(o.status.criu->checkpoint);
  CHECK(o.status.criu->checkpoint->frozen_time_us == 220);  // both containers
  CHECK(o.status.criu->checkpoint->pages_written == 990);
  CHECK(condition(o, kube::kConditionCheckpointed).status == ConditionStatus::kTrue);
  CHECK(condition(o, kube::kConditionRestored).status == ConditionStatus::kTrue);
  CHECK(condition(o, kube::kConditionWorkspaceRunning).status == ConditionStatus::kTrue);
  CHECK(condition(o, kube::kConditionWorkspaceRunning).reason == "Restored");
  CHECK(condition(o, kube::kConditionDeadlineMet).status == ConditionStatus::kTrue);
  REQUIRE(o.status.deadline);
  CHECK(o.status.deadline->met);
  CHECK(o.status.message == "moved from node-1 to node-2");
  for (auto step : {CheckpointStep::kPlan, CheckpointStep::kCheckpoint, CheckpointStep::kPreflight,
                    CheckpointStep::kRestore, CheckpointStep::kRelease}) {
    bool found = false;
    for (const auto& t : o.status.timings) {
      if (t.step != step) continue;
      found = true;
      CHECK(t.finished_at.has_value());
    }
    CHECK_MESSAGE(found, "no timing for ", to_string(step));
  }

  // The operations, each on its node, each started once.
  CHECK(w.starts.size() == 3);
  for (const auto& [id, n] : w.starts) CHECK(n == 1);
  CHECK(w.node_of.at(operation_id_for(o, CheckpointStep::kCheckpoint)) == "node-1");
  CHECK(w.node_of.at(operation_id_for(o, CheckpointStep::kRestore)) == "node-2");
  CHECK(w.node_of.at(operation_id_for(o, CheckpointStep::kRelease)) == "node-1");
  const auto& checkpoint = w.operations.at(operation_id_for(o, CheckpointStep::kCheckpoint)).request;
  CHECK(checkpoint.workspace == "dev");
  CHECK(checkpoint.checkpoint_id == checkpoint_id_for(o));
  const auto& restore = w.operations.at(operation_id_for(o, CheckpointStep::kRestore)).request;
  CHECK(restore.workspace == "ws-dev");  // the id the checkpoint reported
  CHECK(restore.checkpoint_id == checkpoint_id_for(o));

  // The decision is in the status before the restore starts; the release
  // only after the restore.
  CHECK(index_of(w.log, "write Restoring decision=Restore") < index_of(w.log, "start restore node-2"));
  CHECK(index_of(w.log, "start restore node-2") < index_of(w.log, "start release node-1"));
  CHECK(index_of(w.log, "write Checkpointing") < index_of(w.log, "start checkpoint node-1"));
  for (auto reason : {"Planned", "Started", "Checkpointed", "Restoring", "Restored", "Moved"}) {
    CHECK_MESSAGE(has_note(w, reason), "no event ", reason);
  }
}

TEST_CASE("every status write lost once (a crash, a conflict): each operation is still asked for once") {
  auto o = migration_object();
  World w;
  run(o, w, 120, /*lose_writes=*/true);
  CHECK(o.status.phase == CheckpointPhase::kRestored);
  CHECK(w.operations.size() == 3);
  for (const auto& [id, n] : w.starts) CHECK_MESSAGE(n == 1, id, " asked for ", n, " times");
}

TEST_CASE("a failed checkpoint: the source is resumed, and the move ends Failed, running there") {
  auto o = migration_object();
  World w;
  w.scripts[Kind::kCheckpoint] = fails("CRIU could not dump: unsupported socket");
  run(o, w);
  CHECK(o.status.phase == CheckpointPhase::kFailed);
  CHECK(o.status.decision == MigrationDecision::kResume);
  CHECK(o.status.running_on->node == "node-1");
  CHECK(condition(o, kube::kConditionCheckpointed).status == ConditionStatus::kFalse);
  CHECK(condition(o, kube::kConditionCheckpointed).reason == "CheckpointFailed");
  CHECK(condition(o, kube::kConditionWorkspaceRunning).reason == "Resumed");
  CHECK(o.status.message.find("unsupported socket") != std::string::npos);
  CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kRestore)) == 0);
  const auto& resume = w.operations.at(operation_id_for(o, CheckpointStep::kResume)).request;
  CHECK(resume.workspace == "ws-dev");  // the id placement found, not the container's name
  CHECK(resume.checkpoint_id == checkpoint_id_for(o));
  CHECK(has_note(w, "CheckpointFailed"));
}

TEST_CASE("a checkpoint refused before its plan: nothing to resume, running as before") {
  auto o = migration_object();
  World w;
  w.scripts[Kind::kCheckpoint] = fails("container dev has no workspace label");
  w.scripts[Kind::kResume] = fails("no plan for checkpoint wscp-...", std::nullopt, std::string(to_string(ErrorCode::kNotFound)));
  run(o, w);
  CHECK(o.status.phase == CheckpointPhase::kFailed);
  CHECK(o.status.running_on->node == "node-1");
  CHECK(condition(o, kube::kConditionWorkspaceRunning).reason == "NotMoved");
  CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kResume, 1)) == 0);  // not retried
}

TEST_CASE("an operation the agent cancelled before it began is started again under the next attempt's id") {
  auto o = migration_object();
  World w;
  w.first_attempts[Kind::kRestore] = {cancelled_before_it_began()};
  run(o, w);
  CHECK(o.status.phase == CheckpointPhase::kRestored);
  CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kRestore)) == 1);
  CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kRestore, 1)) == 1);
  CHECK(operation_id_for(o, CheckpointStep::kRestore, 1) == o.uid + "-restore-a1");
  CHECK(agent::operations::validate_operation_id(operation_id_for(o, CheckpointStep::kRestore, 2)));
  CHECK(has_note(w, "Retrying"));
}

TEST_CASE("a resume that fails is tried again, up to the limit") {
  SUBCASE("the second attempt works") {
    auto o = migration_object();
    World w;
    w.scripts[Kind::kRestore] = fails("no room");
    w.first_attempts[Kind::kResume] = {fails("podman: connection refused")};
    run(o, w);
    CHECK(o.status.phase == CheckpointPhase::kFailed);
    CHECK(o.status.running_on->node == "node-1");
    CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kResume, 1)) == 1);
  }
  SUBCASE("every attempt fails") {
    auto o = migration_object();
    World w;
    w.scripts[Kind::kRestore] = fails("no room");
    w.scripts[Kind::kResume] = fails("podman: connection refused");
    run(o, w);
    CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kResume, kMaxAttempts - 1)) == 1);
    CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kResume, kMaxAttempts)) == 0);
    CHECK_FALSE(o.status.running_on);
    CHECK(condition(o, kube::kConditionWorkspaceRunning).reason == "ResumeFailed");
  }
}

TEST_CASE("recoveries that did the step count as done: released, resumed on the source") {
  SUBCASE("release") {
    auto o = migration_object();
    World w;
    agent::operations::Recovery released;
    released.action = migration::RecoveryAction::kReleased;
    w.scripts[Kind::kRelease] = fails("interrupted", released);
    run(o, w);
    CHECK(o.status.message == "moved from node-1 to node-2");
    CHECK_FALSE(has_note(w, "ReleaseFailed"));
  }
  SUBCASE("resume") {
    auto o = migration_object();
    World w;
    w.preflight_refusal = "no room";
    agent::operations::Recovery resumed;
    resumed.action = migration::RecoveryAction::kResumedOnSource;
    w.scripts[Kind::kResume] = fails("interrupted", resumed);
    run(o, w);
    CHECK(o.status.running_on->node == "node-1");
    CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kResume, 1)) == 0);
  }
}

TEST_CASE("a destination that refuses the preflight: Resume is recorded, then the source resumes") {
  auto o = migration_object();
  World w;
  w.preflight_refusal = "image localhost/dev:1 exists here with another id";
  run(o, w);
  CHECK(o.status.phase == CheckpointPhase::kFailed);
  CHECK(o.status.decision == MigrationDecision::kResume);
  CHECK(o.status.running_on->node == "node-1");
  CHECK(condition(o, kube::kConditionWorkspaceRunning).reason == "Resumed");
  CHECK(o.status.message.find("another id") != std::string::npos);
  CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kRestore)) == 0);
  CHECK(w.node_of.at(operation_id_for(o, CheckpointStep::kResume)) == "node-1");
  CHECK(index_of(w.log, "write Checkpointed decision=Resume") < index_of(w.log, "start resume node-1"));
  CHECK(has_note(w, "PreflightRefused"));
}

TEST_CASE("a failed restore resumes the source; Restored is False") {
  auto o = migration_object();
  World w;
  w.scripts[Kind::kRestore] = fails("criu restore: no space left");
  run(o, w);
  CHECK(o.status.phase == CheckpointPhase::kFailed);
  CHECK(o.status.decision == MigrationDecision::kResume);
  CHECK(o.status.running_on->node == "node-1");
  CHECK(condition(o, kube::kConditionRestored).status == ConditionStatus::kFalse);
  CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kRelease)) == 0);
  CHECK(index_of(w.log, "write Restoring decision=Resume") < index_of(w.log, "start resume node-1"));
}

TEST_CASE("a restore the destination's agent kept across its restart counts as restored") {
  auto o = migration_object();
  World w;
  agent::operations::Recovery kept;
  kept.action = migration::RecoveryAction::kRestoreKept;
  kept.outcome = "restore kept";
  w.scripts[Kind::kRestore] = fails("interrupted", kept);
  run(o, w);
  CHECK(o.status.phase == CheckpointPhase::kRestored);
  CHECK(o.status.running_on->node == "node-2");
  CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kResume)) == 0);
}

namespace {

agent::operations::Recovery recovered(migration::RecoveryAction action) {
  agent::operations::Recovery r;
  r.action = action;
  r.outcome = "died before the seal; the workspace runs on the source again";
  return r;
}

Script interrupted(migration::RecoveryAction action = migration::RecoveryAction::kResumedOnSource) {
  return fails("interrupted by a restart of the agent", recovered(action), "checkpoint failed");
}

// A world whose first checkpoint a restart of the agent interrupts.
World interrupted_once() {
  World w;
  w.first_attempts[Kind::kCheckpoint] = {interrupted()};
  return w;
}

}  // namespace

TEST_CASE("a checkpoint a restart of its agent interrupted before the seal is taken again under new ids") {
  for (auto action : {migration::RecoveryAction::kResumedOnSource, migration::RecoveryAction::kLockFreed}) {
    CAPTURE(to_string(action));
    auto o = migration_object();
    const auto first = migration_object();  // the ids before the retake
    World w;
    w.first_attempts[Kind::kCheckpoint] = {interrupted(action)};
    run(o, w);
    CHECK(o.status.phase == CheckpointPhase::kRestored);
    CHECK(o.status.checkpoint_retakes == 1);
    REQUIRE(o.status.running_on);
    CHECK(o.status.running_on->node == "node-2");
    CHECK(o.status.decision == MigrationDecision::kRestore);
    REQUIRE(o.status.checkpoint);
    CHECK(o.status.checkpoint->id == "wscp-" + o.uid + "-r1");
    CHECK(condition(o, kube::kConditionCheckpointed).status == ConditionStatus::kTrue);
    // The interrupted attempt, the resume that proved the workspace runs on
    // node-1, then the retake's checkpoint, restore and release, each once.
    CHECK(w.operations.at(operation_id_for(first, CheckpointStep::kCheckpoint)).state == State::kFailed);
    CHECK(w.node_of.at(operation_id_for(first, CheckpointStep::kResume)) == "node-1");
    CHECK(operation_id_for(o, CheckpointStep::kCheckpoint) == o.uid + "-checkpoint-r1");
    const auto& retaken = w.operations.at(operation_id_for(o, CheckpointStep::kCheckpoint));
    CHECK(retaken.request.checkpoint_id == "wscp-" + o.uid + "-r1");
    CHECK(retaken.request.workspace == "dev");
    CHECK(w.operations.at(operation_id_for(o, CheckpointStep::kRestore)).request.checkpoint_id ==
          "wscp-" + o.uid + "-r1");
    CHECK(w.node_of.at(operation_id_for(o, CheckpointStep::kRelease)) == "node-1");
    CHECK(w.starts.count(operation_id_for(first, CheckpointStep::kRestore)) == 0);
    CHECK(w.operations.size() == 5);
    for (const auto& [id, n] : w.starts) CHECK_MESSAGE(n == 1, id, " asked for ", n, " times");
    // Back to Checkpointing, then the retake's start, only after the resume.
    const auto after_resume = w.log.begin() + static_cast<std::ptrdiff_t>(index_of(w.log, "start resume node-1"));
    const auto rewritten = std::find(after_resume, w.log.end(), "write Checkpointing");
    CHECK(std::find(rewritten, w.log.end(), "start checkpoint node-1") != w.log.end());
    CHECK(has_note(w, "CheckpointInterrupted"));
    CHECK(has_note(w, "Retaking"));
    // The interrupted attempt's resume is not this move's history any more.
    for (const auto& t : o.status.timings) CHECK(t.step != CheckpointStep::kResume);
    CHECK(o.status.message == "moved from node-1 to node-2");
  }
}

TEST_CASE("a checkpoint interrupted again and again is taken again twice, then the move ends Failed on the source") {
  auto o = migration_object();
  World w;
  w.scripts[Kind::kCheckpoint] = interrupted();
  run(o, w);
  CHECK(o.status.phase == CheckpointPhase::kFailed);
  CHECK(o.status.decision == MigrationDecision::kResume);
  CHECK(o.status.checkpoint_retakes == kube::kMaxCheckpointRetakes);
  REQUIRE(o.status.running_on);
  CHECK(o.status.running_on->node == "node-1");
  CHECK(condition(o, kube::kConditionCheckpointed).reason == "CheckpointInterrupted");
  CHECK(condition(o, kube::kConditionWorkspaceRunning).reason == "Resumed");
  CHECK(w.starts.count(o.uid + "-checkpoint-r2") == 1);
  CHECK(w.starts.count(o.uid + "-checkpoint-r3") == 0);
  CHECK(w.starts.count(o.uid + "-resume-r2") == 1);
  CHECK(w.operations.size() == 6);  // three checkpoints, three resumes
}

TEST_CASE("no retake for a checkpoint that failed by itself, nor for one being deleted") {
  SUBCASE("a failure of its own") {
    auto o = migration_object();
    World w;
    w.scripts[Kind::kCheckpoint] = fails("CRIU could not dump: unsupported socket", std::nullopt, "checkpoint failed");
    run(o, w);
    CHECK(o.status.phase == CheckpointPhase::kFailed);
    CHECK(o.status.checkpoint_retakes == 0);
    CHECK(w.operations.size() == 2);
  }
  SUBCASE("deleted while it was interrupted") {
    auto o = migration_object();
    World w = interrupted_once();
    // Deleted once the checkpoint runs: its interruption then ends in the resume alone.
    run_to_checkpoint_start(o, w);
    o.deleting = true;
    run(o, w);
    CHECK(o.status.checkpoint_retakes == 0);
    CHECK(w.starts.count(o.uid + "-checkpoint-r1") == 0);
    CHECK(w.starts.count(o.uid + "-resume") == 1);
    CHECK_FALSE(o.has_finalizer);
  }
}

TEST_CASE("cut through: a checkpoint interrupted while the restore follows it is taken again, and cut through again") {
  auto o = migration_object();
  const auto first = migration_object();
  World w;
  w.runs_for[Kind::kCheckpoint] = 3;
  w.runs_for[Kind::kRestore] = 6;
  // The agent's recovery found the restore holding the claim: it resumes
  // only once that restore, cancelled by the controller, has ended.
  w.first_attempts[Kind::kCheckpoint] = {interrupted(migration::RecoveryAction::kAwaitingRestorer)};
  run(o, w, 80, false, MachineOptions{true}, [&] { return o.status.checkpoint_retakes == 1; });
  w.runs_for[Kind::kCheckpoint] = 3;  // the retake dumps a while too
  w.runs_for[Kind::kRestore] = 6;
  run(o, w, 80, false, MachineOptions{true});
  CHECK(o.status.phase == CheckpointPhase::kRestored);
  CHECK(o.status.checkpoint_retakes == 1);
  REQUIRE(o.status.running_on);
  CHECK(o.status.running_on->node == "node-2");
  CHECK(w.operations.at(operation_id_for(first, CheckpointStep::kRestore)).state == State::kCancelled);
  CHECK(index_of(w.log, "cancel restore node-2") < index_of(w.log, "start resume node-1"));
  const auto& restore = w.operations.at(operation_id_for(o, CheckpointStep::kRestore));
  CHECK(restore.request.cut_through);
  CHECK(restore.request.checkpoint_id == "wscp-" + o.uid + "-r1");
  CHECK(restore.state == State::kSucceeded);
  CHECK_FALSE(w.resumed_beside_running_checkpoint);
  CHECK(o.status.condition(kube::kConditionRestored)->status == ConditionStatus::kTrue);
}

TEST_CASE("a checkpoint interrupted before anything was frozen, with nothing to resume, is taken again too") {
  auto o = migration_object();
  World w;
  w.first_attempts[Kind::kCheckpoint] = {interrupted(migration::RecoveryAction::kLockFreed)};
  w.first_attempts[Kind::kResume] = {fails("no plan for checkpoint", std::nullopt, std::string(to_string(ErrorCode::kNotFound)))};
  run(o, w);
  CHECK(o.status.phase == CheckpointPhase::kRestored);
  CHECK(o.status.checkpoint_retakes == 1);
  CHECK(w.starts.count(o.uid + "-resume-a1") == 0);
}

TEST_CASE("cut through: a retake whose restore fails resumes the source once; its sealed archive is recorded") {
  auto o = migration_object();
  World w;
  w.runs_for[Kind::kCheckpoint] = 3;
  w.runs_for[Kind::kRestore] = 1000;  // cancelled when the checkpoint is interrupted
  w.first_attempts[Kind::kCheckpoint] = {interrupted()};
  run(o, w, 80, false, MachineOptions{true}, [&] { return o.status.checkpoint_retakes == 1; });
  w.runs_for[Kind::kCheckpoint] = 6;
  w.runs_for[Kind::kRestore] = 2;
  w.scripts[Kind::kRestore] = fails("CRIU restore failed");
  run(o, w, 80, false, MachineOptions{true});
  CHECK(w.operations.at(o.uid + "-restore-r1").request.cut_through);
  CHECK(o.status.phase == CheckpointPhase::kFailed);
  CHECK(o.status.decision == MigrationDecision::kResume);
  CHECK(o.status.checkpoint_retakes == 1);
  CHECK(w.starts.count(o.uid + "-checkpoint-r2") == 0);
  CHECK(w.operations.at(o.uid + "-checkpoint-r1").state == State::kSucceeded);
  CHECK(w.operations.at(o.uid + "-restore-r1").state == State::kFailed);
  REQUIRE(o.status.running_on);
  CHECK(o.status.running_on->node == "node-1");
  // The retake's archive is whole, and named for the deletion to come.
  CHECK(condition(o, kube::kConditionCheckpointed).status == ConditionStatus::kTrue);
  REQUIRE(o.status.checkpoint);
  CHECK(o.status.checkpoint->id == "wscp-" + o.uid + "-r1");
  CHECK(condition(o, kube::kConditionRestored).reason == "RestoreFailed");
}

TEST_CASE("deleted after a retake: every attempt's archive is deleted, the last one first") {
  SUBCASE("after the move") {
    auto o = migration_object();
    World w = interrupted_once();
    run(o, w);
    REQUIRE(o.status.phase == CheckpointPhase::kRestored);
    o.deleting = true;
    run(o, w);
    CHECK(w.operations.at(o.uid + "-deletearchive-r1").request.checkpoint_id == "wscp-" + o.uid + "-r1");
    CHECK(w.operations.at(o.uid + "-deletearchive").request.checkpoint_id == "wscp-" + o.uid);
    CHECK(w.node_of.at(o.uid + "-deletearchive") == "node-2");  // where the workspace runs
    CHECK(w.log.back() == "remove finalizer");
  }
  SUBCASE("before the retake's checkpoint was asked for") {
    auto o = migration_object();
    World w = interrupted_once();
    run(o, w, 60, false, {}, [&] { return o.status.checkpoint_retakes == 1; });
    REQUIRE(o.status.phase == CheckpointPhase::kCheckpointing);
    o.deleting = true;
    run(o, w);
    CHECK(w.starts.count(o.uid + "-checkpoint-r1") == 0);
    CHECK(w.starts.count(o.uid + "-deletearchive-r1") == 1);
    CHECK(w.operations.at(o.uid + "-deletearchive").request.checkpoint_id == "wscp-" + o.uid);
    CHECK(w.node_of.at(o.uid + "-deletearchive") == "node-1");
    CHECK(w.log.back() == "remove finalizer");
    // Nothing of the move is read or told after its archives went.
    REQUIRE_FALSE(w.notes.empty());
    CHECK(w.notes.back().reason == "ArchiveDeleted");
    CHECK(std::count_if(w.notes.begin(), w.notes.end(),
                        [](const Note& n) { return n.reason == "CheckpointInterrupted"; }) == 1);
    CHECK(w.starts.count(o.uid + "-resume") == 1);  // the one before the retake
  }
  SUBCASE("the last attempt's archive refused: the earlier one is deleted all the same") {
    auto o = migration_object();
    World w = interrupted_once();
    run(o, w);
    o.deleting = true;
    w.first_attempts[Kind::kDelete] = {fails("the source still holds the workspace lock for it", std::nullopt, "conflict")};
    run(o, w);
    CHECK(w.operations.at(o.uid + "-deletearchive-r1").state == State::kFailed);
    CHECK(w.operations.at(o.uid + "-deletearchive").state == State::kSucceeded);
    CHECK(has_note(w, "ArchiveKept"));
    CHECK(w.notes.back().reason == "ArchiveDeleted");
    CHECK(o.status.checkpoint_retakes == 0);
    CHECK(w.log.back() == "remove finalizer");
  }
  SUBCASE("the workspace runs nowhere known: every attempt's archive is kept, and named") {
    auto o = migration_object();
    World w = interrupted_once();
    run(o, w);
    set_condition(o.status, kube::kConditionWorkspaceRunning, ConditionStatus::kUnknown, "ReleaseRefused", "", 1, w.now);
    o.deleting = true;
    run(o, w);
    CHECK(w.starts.count(o.uid + "-deletearchive-r1") == 0);
    CHECK(w.notes.back().reason == "ArchiveKept");
    CHECK(w.notes.back().message.find("so is wscp-" + o.uid + " (an interrupted attempt)") != std::string::npos);
    CHECK(w.log.back() == "remove finalizer");
  }
  SUBCASE("every status write lost once") {
    auto o = migration_object();
    World w = interrupted_once();
    run(o, w);
    o.deleting = true;
    run(o, w, 120, /*lose_writes=*/true);
    CHECK(w.log.back() == "remove finalizer");
    for (const auto& [id, n] : w.starts) CHECK_MESSAGE(n == 1, id, " asked for ", n, " times");
    CHECK(w.starts.count(o.uid + "-deletearchive-r1") == 1);
    CHECK(w.starts.count(o.uid + "-deletearchive") == 1);
  }
}

TEST_CASE("cut through: a retake whose checkpoint the agent forgot and whose restore failed is not taken again") {
  const MachineOptions cut_through{true};
  auto o = migration_object();
  World w;
  w.runs_for[Kind::kCheckpoint] = 3;
  w.runs_for[Kind::kRestore] = 1000;
  w.first_attempts[Kind::kCheckpoint] = {interrupted()};
  run(o, w, 80, false, cut_through, [&] { return o.status.checkpoint_retakes == 1; });
  w.runs_for[Kind::kCheckpoint] = 1000;
  w.runs_for[Kind::kRestore] = 2;
  w.scripts[Kind::kRestore] = fails("CRIU restore failed");
  run(o, w, 80, false, cut_through, [&] { return w.operations.count(o.uid + "-restore-r1") > 0; });
  w.operations.erase(o.uid + "-checkpoint-r1");  // the agent lost its record
  run(o, w, 80, false, cut_through);
  CHECK(o.status.phase == CheckpointPhase::kFailed);
  CHECK(o.status.checkpoint_retakes == 1);
  CHECK(w.starts.count(o.uid + "-checkpoint-r2") == 0);
  CHECK(w.starts.count(o.uid + "-resume-r1") == 1);
  REQUIRE(o.status.running_on);
  CHECK(o.status.running_on->node == "node-1");
}

TEST_CASE("a retake with every status write lost once still asks each operation once") {
  auto o = migration_object();
  World w = interrupted_once();
  run(o, w, 160, /*lose_writes=*/true);
  CHECK(o.status.phase == CheckpointPhase::kRestored);
  CHECK(o.status.checkpoint_retakes == 1);
  for (const auto& [id, n] : w.starts) CHECK_MESSAGE(n == 1, id, " asked for ", n, " times");
}

TEST_CASE("a checkpoint sealed before its agent restarted waits for a decision: the source resumes") {
  auto o = migration_object();
  World w;
  agent::operations::Recovery waiting;
  waiting.action = migration::RecoveryAction::kAwaitingDecision;
  waiting.pending = true;
  w.scripts[Kind::kCheckpoint] = fails("interrupted", waiting);
  run(o, w);
  CHECK(o.status.decision == MigrationDecision::kResume);
  CHECK(o.status.phase == CheckpointPhase::kFailed);
  CHECK(o.status.running_on->node == "node-1");
  CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kResume)) == 1);
}

TEST_CASE("a failed release still ends Restored, with a warning naming the source") {
  auto o = migration_object();
  World w;
  w.scripts[Kind::kRelease] = fails("podman: connection refused");
  run(o, w);
  CHECK(o.status.phase == CheckpointPhase::kRestored);
  CHECK(o.status.running_on->node == "node-2");
  CHECK(o.status.message.find("source node-1 was not released") != std::string::npos);
  CHECK(has_note(w, "ReleaseFailed"));
}

TEST_CASE("a failed resume: Failed, not running, the archive named and kept when the resource is deleted") {
  auto o = migration_object();
  World w;
  w.scripts[Kind::kRestore] = fails("no room");
  w.scripts[Kind::kResume] = fails("podman: connection refused");
  run(o, w);
  CHECK(o.status.phase == CheckpointPhase::kFailed);
  CHECK_FALSE(o.status.running_on);
  CHECK(condition(o, kube::kConditionWorkspaceRunning).status == ConditionStatus::kFalse);
  CHECK(o.status.message.find(checkpoint_id_for(o)) != std::string::npos);
  // Deleted now: the archive may be the workspace's only copy; it is kept
  // without asking any agent, and the resource goes.
  o.deleting = true;
  const auto starts = w.starts.size();
  run(o, w);
  CHECK(w.starts.size() == starts);
  CHECK(has_note(w, "ArchiveKept"));
  CHECK(o.status.message.find("runs nowhere known") != std::string::npos);
  CHECK(w.log.back() == "remove finalizer");
}

TEST_CASE("placement: refused ends Failed before anything runs; unavailable waits") {
  SUBCASE("refused") {
    auto o = migration_object();
    World w;
    w.placement = Error(ErrorCode::kInvalidArgument, "no destination: node-2: agent not ready");
    run(o, w);
    CHECK(o.status.phase == CheckpointPhase::kFailed);
    CHECK(o.status.message.find("agent not ready") != std::string::npos);
    CHECK(condition(o, kube::kConditionCheckpointed).reason == "NotPlanned");
    CHECK(w.starts.empty());
    CHECK(has_note(w, "Refused"));
  }
  SUBCASE("unavailable: says what it waits for once, then waits") {
    auto o = migration_object();
    o.has_finalizer = true;
    World w;
    w.placement = Error(ErrorCode::kUnavailable, "agent of node node-1 last renewed its Lease 40 s ago");
    const Need need = what_to_read(o);
    CHECK(need.kind == Need::Kind::kPlacement);
    Action a = decide(o, need, w.read(need), w.now);
    REQUIRE(a.kind == Action::Kind::kWriteStatus);
    CHECK(a.status.phase == CheckpointPhase::kPending);
    CHECK(a.status.message.find("waiting: agent of node node-1") == 0);
    o.status = a.status;
    Action again = decide(o, what_to_read(o), w.read(what_to_read(o)), w.now);
    CHECK(again.kind == Action::Kind::kWait);
    CHECK(again.after >= std::chrono::seconds(1));
    CHECK(w.starts.empty());
  }
}

TEST_CASE("without a destination: Checkpointed is final; deleting it resumes the source first") {
  auto o = migration_object();
  o.spec.destination.reset();
  World w;
  run(o, w);
  CHECK(o.status.phase == CheckpointPhase::kCheckpointed);
  CHECK(o.status.finished_at.has_value());
  CHECK_FALSE(o.status.running_on);
  CHECK(condition(o, kube::kConditionWorkspaceRunning).reason == "StoppedForCheckpoint");
  CHECK(w.starts.size() == 1);

  o.deleting = true;
  run(o, w);
  CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kResume)) == 1);
  CHECK(w.log.back() == "remove finalizer");
  CHECK_FALSE(o.has_finalizer);
}

TEST_CASE("deleted while checkpointing: the checkpoint finishes, the source resumes, then the finalizer goes") {
  auto o = migration_object();
  World w;
  run_to_checkpoint_start(o, w);
  o.deleting = true;
  run(o, w);
  CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kRestore)) == 0);
  CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kResume)) == 1);
  // Resumed on the source: the archive is no one's only copy and goes.
  const std::string remove = operation_id_for(o, CheckpointStep::kDeleteArchive);
  REQUIRE(w.starts.count(remove) == 1);
  CHECK(w.node_of.at(remove) == "node-1");
  CHECK(has_note(w, "ArchiveDeleted"));
  CHECK_FALSE(has_note(w, "ArchiveKept"));
  CHECK(w.log.back() == "remove finalizer");
}

TEST_CASE("deleted before it was planned: the finalizer goes at once") {
  auto o = migration_object();
  o.has_finalizer = true;
  o.deleting = true;
  World w;
  run(o, w);
  CHECK(w.starts.empty());
  CHECK(w.log.back() == "remove finalizer");
}

const kube::StepTiming* step_timing(const CheckpointObject& o, CheckpointStep step) {
  for (const auto& t : o.status.timings) {
    if (t.step == step) return &t;
  }
  return nullptr;
}

TEST_CASE("deleted after a move: the agent where the workspace runs deletes the archive, then the finalizer goes") {
  auto done = migration_object();
  World w;
  run(done, w);
  REQUIRE(done.status.phase == CheckpointPhase::kRestored);
  done.deleting = true;
  const auto starts = w.starts.size();
  run(done, w);
  const std::string id = operation_id_for(done, CheckpointStep::kDeleteArchive);
  REQUIRE(w.operations.count(id) == 1);
  CHECK(w.starts.size() == starts + 1);
  CHECK(w.operations.at(id).request.kind == Kind::kDelete);
  CHECK(w.operations.at(id).request.workspace == "ws-dev");
  CHECK(w.operations.at(id).request.checkpoint_id == checkpoint_id_for(done));
  CHECK(w.node_of.at(id) == "node-2");
  CHECK(has_note(w, "ArchiveDeleted"));
  const auto* t = step_timing(done, CheckpointStep::kDeleteArchive);
  REQUIRE(t != nullptr);
  CHECK(t->finished_at.has_value());
  CHECK(w.log.back() == "remove finalizer");
  // Deleting again (a lost finalizer update) starts nothing new.
  done.has_finalizer = true;
  run(done, w);
  CHECK(w.starts.size() == starts + 1);
  CHECK(w.starts.at(id) == 1);
}

TEST_CASE("deleted after a move: a deletion cut short (the agent restarted) is tried again under the next id") {
  auto done = migration_object();
  World w;
  run(done, w);
  done.deleting = true;
  w.first_attempts[Kind::kDelete] = {fails("the agent stopped while this operation ran", std::nullopt, "unavailable")};
  run(done, w);
  CHECK(w.starts.at(operation_id_for(done, CheckpointStep::kDeleteArchive, 0)) == 1);
  CHECK(w.starts.at(operation_id_for(done, CheckpointStep::kDeleteArchive, 1)) == 1);
  CHECK(has_note(w, "ArchiveDeleted"));
  CHECK(w.log.back() == "remove finalizer");
}

// Moves, then deletes the resource with `trouble` set up in the world: it
// must go with an ArchiveKept Warning saying `why`, `bound` after the
// deletion began and not before.
void check_deletion_given_up(const std::function<void(World&)>& trouble, std::chrono::minutes bound,
                             std::string_view why) {
  auto done = migration_object();
  World w;
  run(done, w);
  done.deleting = true;
  trouble(w);
  const auto started = w.now;
  run(done, w, 400);
  CHECK(w.now - started >= bound);
  CHECK(w.now - started < bound + std::chrono::seconds(10));
  CHECK(has_note(w, "ArchiveKept"));
  CHECK_MESSAGE(done.status.message.find(why) != std::string::npos, done.status.message);
  CHECK(w.log.back() == "remove finalizer");
}

TEST_CASE("deleted after a move: an agent that will not take the deletion holds the resource two minutes at most") {
  check_deletion_given_up([](World& w) { w.refused_starts.insert(Kind::kDelete); }, kArchiveDeletionPatience,
                          "did not take the deletion");
}

TEST_CASE("deleted after a move: a deletion that does not finish holds the resource ten minutes at most") {
  check_deletion_given_up([](World& w) { w.runs_for[Kind::kDelete] = 100000; }, kArchiveDeletionLimit,
                          "had not finished deleting it");
}

TEST_CASE("deleted after a move: an archive the agent refuses to delete is kept, with a Warning, and the resource goes") {
  auto done = migration_object();
  World w;
  run(done, w);
  done.deleting = true;
  w.scripts[Kind::kDelete] =
      fails("checkpoint c of workspace ws-dev is kept: its claim is resuming", std::nullopt, "conflict");
  run(done, w);
  CHECK(has_note(w, "ArchiveKept"));
  CHECK(done.status.message.find("its claim is resuming") != std::string::npos);
  CHECK(w.log.back() == "remove finalizer");
}

TEST_CASE("deleted after a move: an agent that cannot be reached holds the deletion two minutes at most") {
  check_deletion_given_up([](World& w) { w.unreachable.insert("node-2"); }, kArchiveDeletionPatience,
                          "could not be asked to delete it (connection refused)");
}

TEST_CASE("a deadline missed is recorded with its margin") {
  auto o = migration_object();
  o.spec.deadline = kT0 + std::chrono::seconds(3);
  World w;
  run(o, w);
  CHECK(o.status.phase == CheckpointPhase::kRestored);
  REQUIRE(o.status.deadline);
  CHECK_FALSE(o.status.deadline->met);
  CHECK(*o.status.deadline->margin_milliseconds < 0);
  CHECK(condition(o, kube::kConditionDeadlineMet).status == ConditionStatus::kFalse);
}

TEST_CASE("a compose project is checkpointed by project, its options passed on") {
  auto o = migration_object();
  o.spec.workspace = kube::WorkspaceRef{std::nullopt, std::nullopt, std::nullopt, std::string("shop")};
  o.spec.checkpoint = kube::CheckpointSettings{true, true, false, false};
  o.spec.store = "s3-main";
  World w;
  run(o, w);
  const auto& r = w.operations.at(operation_id_for(o, CheckpointStep::kCheckpoint)).request;
  CHECK(r.project == "shop");
  CHECK(r.workspace.empty());
  CHECK(r.tcp_established);
  CHECK(r.file_locks);
  CHECK(r.store == "s3-main");
  CHECK(o.status.checkpoint->store == "s3-main");
}

TEST_CASE("set_condition keeps lastTransitionTime while the status does not change") {
  kube::WorkspaceCheckpointStatus s;
  set_condition(s, "WorkspaceRunning", ConditionStatus::kTrue, "A", "a", 1, kT0);
  set_condition(s, "WorkspaceRunning", ConditionStatus::kTrue, "B", "b", 2, kT0 + std::chrono::seconds(5));
  REQUIRE(s.conditions.size() == 1);
  CHECK(s.conditions[0].last_transition_time == kT0);
  CHECK(s.conditions[0].reason == "B");
  CHECK(s.conditions[0].observed_generation == 2);
  set_condition(s, "WorkspaceRunning", ConditionStatus::kFalse, "C", "c", 2, kT0 + std::chrono::seconds(9));
  CHECK(s.conditions[0].last_transition_time == kT0 + std::chrono::seconds(9));
}

TEST_CASE("deleted after the plan but before the checkpoint was asked for: nothing starts") {
  auto o = migration_object();
  o.has_finalizer = true;
  World w;
  Need need = what_to_read(o);
  Action a = decide(o, need, w.read(need), w.now);
  REQUIRE(a.kind == Action::Kind::kWriteStatus);
  o.status = a.status;
  REQUIRE(o.status.phase == CheckpointPhase::kCheckpointing);
  o.deleting = true;
  run(o, w);
  CHECK(w.starts.empty());
  CHECK(w.log.back() == "remove finalizer");
}

TEST_CASE("a release the source refuses as a conflict is a warning naming both nodes") {
  auto o = migration_object();
  World w;
  w.scripts[Kind::kRelease] = fails("two copies of the workspace are running", std::nullopt, std::string(to_string(ErrorCode::kConflict)));
  run(o, w);
  REQUIRE(o.status.phase == CheckpointPhase::kRestored);
  CHECK(has_note(w, "ReleaseRefused"));
  CHECK(condition(o, kube::kConditionWorkspaceRunning).status == ConditionStatus::kUnknown);
  CHECK(o.status.message.find("node-1") != std::string::npos);
  CHECK(o.status.message.find("node-2") != std::string::npos);
}

TEST_CASE("an agent's message that is not UTF-8, or very long, still makes a writable status") {
  auto o = migration_object();
  World w;
  std::string odd = "bad bytes \xff\xfe then \xe2\x82 cut";
  w.scripts[Kind::kCheckpoint] = fails(odd + std::string(6000, 'x') + "\xc3\xa9");
  run(o, w);
  REQUIRE(o.status.phase == CheckpointPhase::kFailed);
  CHECK(o.status.message.size() <= 4096);
  CHECK_NOTHROW((void)o.status.to_json().dump());
  CHECK(o.status.message.find("bad bytes ?? then ?? cut") != std::string::npos);
}

TEST_CASE("an operation cancelled after it began is not started again: the move resumes the source") {
  auto o = migration_object();
  World w;
  w.scripts[Kind::kRestore] = Script{State::kCancelled, "cancelled: the agent stopped", std::nullopt,
                                     std::string(to_string(ErrorCode::kCancelled)), true};
  run(o, w);
  CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kRestore, 1)) == 0);
  CHECK(o.status.decision == MigrationDecision::kResume);
  CHECK(o.status.running_on->node == "node-1");
}

TEST_CASE("deleted while its checkpoint was still queued and then cancelled: nothing starts again") {
  auto o = migration_object();
  World w;
  w.first_attempts[Kind::kCheckpoint] = {cancelled_before_it_began()};
  // Up to the checkpoint's start, then its end as cancelled, then deletion.
  for (int i = 0; i < 3; ++i) {
    Need need = what_to_read(o);
    Action a = decide(o, need, w.read(need), w.now);
    if (a.kind == Action::Kind::kAddFinalizer) o.has_finalizer = true;
    if (a.kind == Action::Kind::kWriteStatus) o.status = a.status;
    if (a.kind == Action::Kind::kStartOperation) w.start(need, a);
  }
  w.advance();
  o.deleting = true;
  run(o, w);
  CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kCheckpoint, 1)) == 0);
  CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kResume)) == 0);
  CHECK(w.log.back() == "remove finalizer");
}

TEST_CASE("ttlSecondsAfterFinished: the resource waits that long after the end, then is deleted") {
  auto o = migration_object();
  o.spec.ttl_seconds_after_finished = 60;
  World w;
  run(o, w);
  REQUIRE(o.status.phase == CheckpointPhase::kRestored);
  // The run deleted it once the TTL had passed in the simulated time...
  CHECK(index_of(w.log, "delete") > index_of(w.log, "write Restored decision=Restore"));
  CHECK(w.log.back() == "remove finalizer");
  CHECK(w.now >= *o.status.finished_at + std::chrono::seconds(60));

  // ... and before that it only waits, as long as is left.
  auto fresh = migration_object();
  fresh.spec.ttl_seconds_after_finished = 60;
  fresh.has_finalizer = true;
  fresh.status.phase = CheckpointPhase::kRestored;
  fresh.status.source_node = "node-1";
  fresh.status.finished_at = kT0;
  Action a = decide(fresh, what_to_read(fresh), Observed{}, kT0 + std::chrono::seconds(45));
  CHECK(a.kind == Action::Kind::kWait);
  CHECK(a.after == std::chrono::seconds(15));
  CHECK(decide(fresh, what_to_read(fresh), Observed{}, kT0 + std::chrono::seconds(60)).kind == Action::Kind::kDelete);
  // Never while the workspace runs nowhere (or maybe twice): the resource is its record.
  set_condition(fresh.status, kube::kConditionWorkspaceRunning, ConditionStatus::kFalse, "ResumeFailed", "", 1, kT0);
  CHECK(decide(fresh, what_to_read(fresh), Observed{}, kT0 + std::chrono::hours(24)).kind == Action::Kind::kNothing);
  set_condition(fresh.status, kube::kConditionWorkspaceRunning, ConditionStatus::kTrue, "Restored", "", 1, kT0);
  fresh.spec.ttl_seconds_after_finished.reset();
  CHECK(decide(fresh, what_to_read(fresh), Observed{}, kT0 + std::chrono::hours(24)).kind == Action::Kind::kNothing);
}

TEST_CASE("cut through: the decision is recorded once the checkpoint runs, then the restore follows it") {
  auto o = migration_object();
  World w;
  w.runs_for[Kind::kCheckpoint] = 3;
  run(o, w, 60, false, MachineOptions{true});
  CHECK(o.status.phase == CheckpointPhase::kRestored);
  CHECK(o.status.decision == MigrationDecision::kRestore);
  CHECK(has_note(w, "CutThrough"));
  // The restore started while the checkpoint still ran, after the decision.
  const std::string checkpoint_id = operation_id_for(o, CheckpointStep::kCheckpoint);
  const std::string restore_id = operation_id_for(o, CheckpointStep::kRestore);
  CHECK(index_of(w.log, "write Restoring decision=Restore") < index_of(w.log, "start restore node-2"));
  CHECK(w.operations.at(restore_id).request.cut_through);
  CHECK(w.operations.at(restore_id).request.workspace == "ws-dev");
  CHECK_FALSE(w.operations.at(checkpoint_id).request.cut_through);
  CHECK(index_of(w.log, "start restore node-2") < index_of(w.log, "start release node-1"));
  // No preflight step: the restore pre-flights the plan itself. The
  // checkpoint step is closed by the restore's end.
  for (const auto& t : o.status.timings) {
    CHECK(t.step != CheckpointStep::kPreflight);
    CHECK_MESSAGE(t.finished_at.has_value(), "step ", to_string(t.step), " left open");
  }
  CHECK(condition(o, kube::kConditionCheckpointed).status == ConditionStatus::kTrue);
  CHECK(condition(o, kube::kConditionWorkspaceRunning).reason == "Restored");
  for (const auto& [id, n] : w.starts) CHECK(n == 1);
}

TEST_CASE("cut through: a restore that fails with the checkpoint ends in a resume on the source") {
  auto o = migration_object();
  World w;
  w.runs_for[Kind::kCheckpoint] = 3;
  w.scripts[Kind::kCheckpoint] = fails("criu dump failed", std::nullopt, "checkpoint failed");
  w.scripts[Kind::kRestore] = fails("segment 0 did not appear within 120 s (the source stopped writing it)");
  w.runs_for[Kind::kCheckpoint] = 6;  // still dumping when the restore fails
  run(o, w, 60, false, MachineOptions{true});
  CHECK_FALSE(w.resumed_beside_running_checkpoint);  // the checkpoint's end came first
  CHECK(has_note(w, "RestoreFailed"));
  CHECK(o.status.message.find("criu dump failed") != std::string::npos);
  CHECK(o.status.phase == CheckpointPhase::kFailed);
  CHECK(o.status.decision == MigrationDecision::kResume);
  CHECK(condition(o, kube::kConditionRestored).status == ConditionStatus::kFalse);
  CHECK(condition(o, kube::kConditionWorkspaceRunning).status == ConditionStatus::kTrue);
  REQUIRE(o.status.running_on);
  CHECK(o.status.running_on->node == "node-1");
  CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kResume)) == 1);
  for (const auto& t : o.status.timings) CHECK_MESSAGE(t.finished_at.has_value(), "step ", to_string(t.step), " left open");
}

TEST_CASE("cut through: a checkpoint that fails cancels the restore following it; then the source resumes") {
  auto o = migration_object();
  World w;
  w.runs_for[Kind::kCheckpoint] = 3;
  w.scripts[Kind::kCheckpoint] = fails("criu dump failed", std::nullopt, "checkpoint failed");
  w.runs_for[Kind::kRestore] = 1000;  // it would follow the archive until its timeout
  run(o, w, 60, false, MachineOptions{true});
  CHECK(index_of(w.log, "start restore node-2") < index_of(w.log, "cancel restore node-2"));
  CHECK(w.operations.at(operation_id_for(o, CheckpointStep::kRestore)).state == State::kCancelled);
  REQUIRE(has_note(w, "CheckpointFailed"));
  CHECK(o.status.message.find("criu dump failed") != std::string::npos);
  CHECK(o.status.phase == CheckpointPhase::kFailed);
  CHECK(o.status.decision == MigrationDecision::kResume);
  REQUIRE(o.status.running_on);
  CHECK(o.status.running_on->node == "node-1");
  CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kResume)) == 1);
  CHECK_FALSE(w.resumed_beside_running_checkpoint);
  // A restore still queued when it is cancelled is not tried again.
  auto queued = migration_object();
  World q;
  q.runs_for[Kind::kCheckpoint] = 3;
  q.scripts[Kind::kCheckpoint] = fails("criu dump failed", std::nullopt, "checkpoint failed");
  q.queued = {Kind::kRestore};
  run(queued, q, 60, false, MachineOptions{true});
  CHECK(q.operations.at(operation_id_for(queued, CheckpointStep::kRestore)).state == State::kCancelled);
  CHECK(q.operations.count(operation_id_for(queued, CheckpointStep::kRestore, 1)) == 0);
  CHECK(queued.status.phase == CheckpointPhase::kFailed);
  CHECK(queued.status.decision == MigrationDecision::kResume);
  // A checkpoint that still runs, or succeeded, never cancels it.
  auto ok = migration_object();
  World fine;
  fine.runs_for[Kind::kCheckpoint] = 3;
  fine.runs_for[Kind::kRestore] = 6;
  run(ok, fine, 60, false, MachineOptions{true});
  CHECK(ok.status.phase == CheckpointPhase::kRestored);
  for (const auto& line : fine.log) CHECK(line.find("cancel") == std::string::npos);
}

TEST_CASE("cut through: a checkpoint interrupted after its seal by a restart of its agent does not cancel the restore") {
  auto o = migration_object();
  World w;
  w.runs_for[Kind::kCheckpoint] = 3;
  agent::operations::Recovery sealed;
  sealed.action = migration::RecoveryAction::kAwaitingDecision;
  sealed.outcome = "sealed; claim is restoring";
  w.scripts[Kind::kCheckpoint] = fails("interrupted by a restart of the agent", sealed, "checkpoint failed");
  w.runs_for[Kind::kRestore] = 6;
  run(o, w, 60, false, MachineOptions{true});
  for (const auto& line : w.log) CHECK(line.find("cancel") == std::string::npos);
  CHECK(o.status.phase == CheckpointPhase::kRestored);
  REQUIRE(o.status.running_on);
  CHECK(o.status.running_on->node == "node-2");
}

TEST_CASE("cut through: every status write lost once still moves the workspace once") {
  auto o = migration_object();
  World w;
  w.runs_for[Kind::kCheckpoint] = 3;
  run(o, w, 120, /*lose_writes=*/true, MachineOptions{true});
  CHECK(o.status.phase == CheckpointPhase::kRestored);
  for (const auto& [id, n] : w.starts) CHECK_MESSAGE(n >= 1, id);
  CHECK(w.operations.size() == 3);  // checkpoint, restore, release: none twice
  CHECK(w.operations.at(operation_id_for(o, CheckpointStep::kRestore)).request.cut_through);
}

TEST_CASE("cut through: not while deleting, without a destination, or when the checkpoint ended first") {
  SUBCASE("no destination") {
    auto o = migration_object();
    o.spec.destination.reset();
    World w;
    w.placement = Placement{"node-1", "ws-dev", std::nullopt, std::nullopt, std::nullopt};
    w.runs_for[Kind::kCheckpoint] = 3;
    run(o, w, 60, false, MachineOptions{true});
    CHECK(o.status.phase == CheckpointPhase::kCheckpointed);
    CHECK_FALSE(has_note(w, "CutThrough"));
  }
  SUBCASE("the checkpoint ended before a pass saw it run: the sealed path") {
    auto o = migration_object();
    World w;
    run(o, w, 60, false, MachineOptions{true});
    CHECK(o.status.phase == CheckpointPhase::kRestored);
    CHECK_FALSE(has_note(w, "CutThrough"));
    CHECK_FALSE(w.operations.at(operation_id_for(o, CheckpointStep::kRestore)).request.cut_through);
  }
  SUBCASE("off") {
    auto o = migration_object();
    World w;
    w.runs_for[Kind::kCheckpoint] = 3;
    run(o, w);
    CHECK(o.status.phase == CheckpointPhase::kRestored);
    CHECK_FALSE(has_note(w, "CutThrough"));
  }
}

namespace {

// The source's agent checkpointing the workspace on its own (a termination
// notice): its operation is already there when the controller plans.
World world_with_agent_checkpoint(State state) {
  World w;
  Placement p{"node-1", "ws-dev", std::string("node-2"), std::nullopt, std::nullopt};
  p.adopt = kube::AdoptedCheckpoint{"evac-aws-i-0abc", "evacuate-aws-i-0abc-ws-dev", std::nullopt};
  w.placement = p;
  Operation op;
  op.id = p.adopt->operation;
  op.request.kind = Kind::kCheckpoint;
  op.request.workspace = "ws-dev";
  op.request.checkpoint_id = p.adopt->id;
  op.state = state;
  op.started_at = "2030-01-01T09:59:58Z";
  w.operations[op.id] = op;
  w.node_of[op.id] = "node-1";
  return w;
}

}  // namespace

TEST_CASE("an agent's own checkpoint is adopted: no second dump, its id restored, then released") {
  for (auto state : {State::kRunning, State::kSucceeded}) {
    CAPTURE(to_string(state));
    for (bool cut_through : {false, true}) {
      CAPTURE(cut_through);
      auto o = migration_object();
      auto w = world_with_agent_checkpoint(state);
      if (state == State::kSucceeded) {
        agent::operations::Outcome out;
        out.workspace_id = "ws-dev";
        out.checkpoint_id = "evac-aws-i-0abc";
        out.archive_bytes = 64ull << 20;
        w.operations.begin()->second.outcome = out;
      }
      run(o, w, 60, false, MachineOptions{cut_through});
      CHECK(o.status.phase == CheckpointPhase::kRestored);
      REQUIRE(o.status.adopted);
      CHECK(o.status.adopted->id == "evac-aws-i-0abc");
      CHECK(checkpoint_id_for(o) == "evac-aws-i-0abc");
      CHECK(o.status.checkpoint->id == "evac-aws-i-0abc");
      CHECK(has_note(w, "Adopted"));
      CHECK(o.status.running_on->node == "node-2");
      // Nothing was checkpointed by the controller: only restore and release started.
      CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kCheckpoint)) == 0);
      CHECK(w.starts.size() == 2);
      const auto& restore = w.operations.at(operation_id_for(o, CheckpointStep::kRestore)).request;
      CHECK(restore.checkpoint_id == "evac-aws-i-0abc");
      CHECK(restore.cut_through == (cut_through && state == State::kRunning));
      CHECK(w.operations.at(operation_id_for(o, CheckpointStep::kRelease)).request.checkpoint_id ==
            "evac-aws-i-0abc");
    }
  }
}

TEST_CASE("an adopted checkpoint that fails, or that its agent forgot, resumes the source and is not retried") {
  SUBCASE("failed") {
    auto o = migration_object();
    auto w = world_with_agent_checkpoint(State::kRunning);
    w.operations.begin()->second.started_at.clear();  // queued, then cancelled: the controller's own is retried
    w.scripts[Kind::kCheckpoint] = cancelled_before_it_began();
    run(o, w);
    CHECK(o.status.phase == CheckpointPhase::kFailed);
    CHECK(o.status.decision == MigrationDecision::kResume);
    CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kCheckpoint, 1)) == 0);
    CHECK(w.operations.at(operation_id_for(o, CheckpointStep::kResume)).request.checkpoint_id == "evac-aws-i-0abc");
  }
  SUBCASE("forgotten") {
    auto o = migration_object();
    auto w = world_with_agent_checkpoint(State::kRunning);
    w.operations.clear();
    run(o, w, 200);
    CHECK(o.status.phase == CheckpointPhase::kFailed);
    CHECK(condition(o, kube::kConditionCheckpointed).reason == "CheckpointFailed");
    CHECK(o.status.message.find("does not know its checkpoint operation evacuate-aws-i-0abc-ws-dev") !=
          std::string::npos);
    // It waited for the agent (2 minutes past the plan) before giving up.
    CHECK(w.now >= kT0 + std::chrono::minutes(2));
    CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kCheckpoint)) == 0);
    CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kResume)) == 1);
  }
  SUBCASE("not a checkpoint under the adopted id") {
    auto o = migration_object();
    auto w = world_with_agent_checkpoint(State::kRunning);
    w.operations.begin()->second.request.checkpoint_id = "someone-else";
    run(o, w);
    CHECK(o.status.phase == CheckpointPhase::kFailed);
    CHECK(o.status.message.find("is not a checkpoint as evac-aws-i-0abc") != std::string::npos);
    CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kRestore)) == 0);
  }
}

TEST_CASE("an adopted checkpoint the agent starts a little later is waited for, then restored from its store") {
  auto o = migration_object();
  auto w = world_with_agent_checkpoint(State::kRunning);
  w.placement.value().adopt->store = "agent-store";
  w.appears = w.operations.begin()->second;
  w.appears_after = 5;
  w.operations.clear();
  run(o, w);
  CHECK(o.status.phase == CheckpointPhase::kRestored);
  CHECK(w.starts.count(operation_id_for(o, CheckpointStep::kCheckpoint)) == 0);
  const auto& restore = w.operations.at(operation_id_for(o, CheckpointStep::kRestore)).request;
  CHECK(restore.checkpoint_id == "evac-aws-i-0abc");
  CHECK(restore.store == "agent-store");
  CHECK(o.status.checkpoint->store == "agent-store");
}

namespace {

// spec.restoreFrom of a resource that checkpointed ws-dev on node-1 as
// archive "wscp-earlier" in store "main" and left it stopped there.
CheckpointObject restore_from_object() {
  CheckpointObject o;
  o.ns = "team-a";
  o.name = "bring-back";
  o.uid = "9a9a9a9a-1b2c-4d5e-8f90-123456789abc";
  o.generation = 1;
  o.spec.restore_from = kube::RestoreFrom{"earlier"};
  o.spec.destination = kube::Destination{};
  return o;
}

Placement restore_from_placement() {
  Placement p{"node-1", "ws-dev", std::string("node-2"), std::nullopt, std::nullopt};
  p.restore_from = kube::CheckpointRecord{"wscp-earlier", "main", 4096, std::nullopt, false};
  return p;
}

std::size_t starts_of(const World& w, Kind kind) {
  std::size_t n = 0;
  for (const auto& [id, op] : w.operations) n += op.request.kind == kind ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("restoreFrom: the named resource's archive is pre-flighted, restored, and its source released") {
  auto o = restore_from_object();
  World w;
  w.placement = restore_from_placement();
  run(o, w);
  REQUIRE(o.status.phase == CheckpointPhase::kRestored);
  CHECK(starts_of(w, Kind::kCheckpoint) == 0);
  const std::string restore = operation_id_for(o, CheckpointStep::kRestore);
  REQUIRE(w.operations.count(restore) == 1);
  CHECK(w.node_of.at(restore) == "node-2");
  CHECK(w.operations.at(restore).request.checkpoint_id == "wscp-earlier");
  CHECK(w.operations.at(restore).request.workspace == "ws-dev");
  CHECK(w.operations.at(restore).request.store == "main");
  const std::string release = operation_id_for(o, CheckpointStep::kRelease);
  REQUIRE(w.operations.count(release) == 1);
  CHECK(w.node_of.at(release) == "node-1");
  REQUIRE(o.status.checkpoint);
  CHECK(o.status.checkpoint->id == "wscp-earlier");
  CHECK(o.status.running_on->node == "node-2");
  CHECK(condition(o, kube::kConditionSourceReleased).status == ConditionStatus::kTrue);
  CHECK(has_note(w, "Moved"));
}

TEST_CASE("restoreFrom: a failed restore resumes the workspace on its source, as any move does") {
  auto o = restore_from_object();
  World w;
  w.placement = restore_from_placement();
  w.scripts[Kind::kRestore] = fails("no room for it");
  run(o, w);
  CHECK(o.status.phase == CheckpointPhase::kFailed);
  const std::string resume = operation_id_for(o, CheckpointStep::kResume);
  REQUIRE(w.operations.count(resume) == 1);
  CHECK(w.node_of.at(resume) == "node-1");
  CHECK(w.operations.at(resume).request.checkpoint_id == "wscp-earlier");
  CHECK(starts_of(w, Kind::kRelease) == 0);
  CHECK(o.status.running_on->node == "node-1");
  CHECK(condition(o, kube::kConditionWorkspaceRunning).status == ConditionStatus::kTrue);
}

TEST_CASE("restoreFrom: refused by the destination, nothing is resumed; deleted, it leaves everything alone") {
  auto o = restore_from_object();
  World w;
  w.placement = restore_from_placement();
  w.preflight_refusal = "no room";
  run(o, w);
  REQUIRE(o.status.phase == CheckpointPhase::kFailed);
  CHECK(o.status.message.find("nothing was touched") != std::string::npos);
  CHECK(o.status.message.find("WorkspaceCheckpoint earlier") != std::string::npos);
  CHECK(has_note(w, "PreflightRefused"));
  CHECK(w.operations.empty());
  o.deleting = true;
  run(o, w);
  CHECK(w.operations.empty());
  CHECK(w.log.back() == "remove finalizer");
}

TEST_CASE("restoreFrom: deleted once restored, it deletes the archive it restored") {
  auto o = restore_from_object();
  World w;
  w.placement = restore_from_placement();
  run(o, w);
  REQUIRE(o.status.phase == CheckpointPhase::kRestored);
  o.deleting = true;
  run(o, w);
  const std::string id = operation_id_for(o, CheckpointStep::kDeleteArchive);
  REQUIRE(w.operations.count(id) == 1);
  CHECK(w.operations.at(id).request.checkpoint_id == "wscp-earlier");
  CHECK(w.node_of.at(id) == "node-2");
  CHECK(has_note(w, "ArchiveDeleted"));
}

TEST_CASE("a release that fails is recorded in the SourceReleased condition") {
  auto o = migration_object();
  World w;
  w.scripts[Kind::kRelease] = fails("podman unreachable", std::nullopt, "unavailable");
  run(o, w);
  REQUIRE(o.status.phase == CheckpointPhase::kRestored);
  CHECK(condition(o, kube::kConditionSourceReleased).status == ConditionStatus::kFalse);
  CHECK(has_note(w, "ReleaseFailed"));
}

TEST_CASE("a source whose agent does not answer after the restore: Restored after five minutes, not released") {
  auto o = migration_object();
  World w;
  // Up to the release: the restore succeeded, the source's agent is gone.
  for (int i = 0; i < 60 && !step_timing(o, CheckpointStep::kRelease); ++i) {
    Need need = what_to_read(o);
    Action a = decide(o, need, w.read(need), w.now);
    if (a.kind == Action::Kind::kAddFinalizer) o.has_finalizer = true;
    if (a.kind == Action::Kind::kWriteStatus) o.status = a.status;
    if (a.kind == Action::Kind::kStartOperation) w.start(need, a);
    if (a.kind == Action::Kind::kWait) w.advance();
  }
  REQUIRE(step_timing(o, CheckpointStep::kRelease) != nullptr);
  w.unreachable.insert("node-1");
  const auto started = w.now;
  run(o, w, 400);
  CHECK(o.status.phase == CheckpointPhase::kRestored);
  CHECK(w.now - started >= kUnansweredSourcePatience);
  CHECK(w.now - started < kUnansweredSourcePatience + std::chrono::seconds(10));
  CHECK(o.status.running_on->node == "node-2");
  CHECK(condition(o, kube::kConditionSourceReleased).status == ConditionStatus::kFalse);
  CHECK(o.status.message.find("could not be reached") != std::string::npos);
  CHECK(has_note(w, "ReleaseFailed"));
}

TEST_CASE("a kept checkpoint deleted while its node's agent does not answer: Failed after five minutes, archive kept") {
  auto o = migration_object();
  o.spec.destination.reset();
  World w;
  run(o, w);
  REQUIRE(o.status.phase == CheckpointPhase::kCheckpointed);
  w.unreachable.insert("node-1");
  o.deleting = true;
  const auto started = w.now;
  run(o, w, 400);
  CHECK(w.now - started >= kUnansweredSourcePatience);
  CHECK(w.now - started < kUnansweredSourcePatience + std::chrono::seconds(10));
  CHECK(has_note(w, "ResumeFailed"));
  CHECK(has_note(w, "ArchiveKept"));
  CHECK(o.status.message.find("runs nowhere known") != std::string::npos);
  CHECK(w.log.back() == "remove finalizer");
}
