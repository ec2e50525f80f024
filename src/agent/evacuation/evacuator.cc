#include "agent/evacuation/evacuator.h"

#include <cstdlib>
#include <map>

#include "common/time_format.h"

namespace wscp::agent::evacuation {

using nlohmann::json;
using operations::Kind;
using operations::Operation;
using operations::Request;
using operations::State;

std::string_view to_string(EvacuationState state) {
  switch (state) {
    case EvacuationState::kCheckpointing: return "checkpointing";
    case EvacuationState::kCheckpointed: return "checkpointed";
    case EvacuationState::kFailed: return "failed";
    case EvacuationState::kResuming: return "resuming";
    case EvacuationState::kResumed: return "resumed";
    case EvacuationState::kMoved: return "moved";
    case EvacuationState::kResumeFailed: return "resume-failed";
  }
  return "unknown";
}

std::string checkpoint_id_of(const Evacuation& e, const EvacuatedWorkspace& w) {
  return w.checkpoint_attempt == 0 ? e.checkpoint_id : e.checkpoint_id + "-r" + std::to_string(w.checkpoint_attempt);
}

json to_json(const Evacuation& e) {
  json workspaces = json::array();
  for (const auto& w : e.workspaces) {
    json j{{"workspace", w.workspace.workspace_id},
           {"container", w.workspace.primary},
           {"checkpointId", checkpoint_id_of(e, w)},
           {"operation", w.checkpoint_operation},
           {"state", to_string(w.state)}};
    if (!w.workspace.project.empty()) j["project"] = w.workspace.project;
    if (w.workspace.memory_bytes) j["memoryBytes"] = *w.workspace.memory_bytes;
    if (w.deadline_met) j["deadlineMet"] = *w.deadline_met;
    if (!w.resume_operation.empty()) j["resumeOperation"] = w.resume_operation;
    if (!w.error.empty()) j["error"] = w.error;
    workspaces.push_back(std::move(j));
  }
  return json{{"notice", e.notice.to_json()},
              {"deadline", utc_rfc3339(e.deadline)},
              {"checkpointId", e.checkpoint_id},
              {"store", e.store},
              {"acknowledged", e.acknowledged},
              {"workspaces", workspaces}};
}

Evacuator::Evacuator(operations::OperationManager& manager, WorkspaceLister list, ClaimReader claims,
                     EvacuationOptions options, std::shared_ptr<Clock> clock, std::shared_ptr<log::Logger> logger,
                     std::shared_ptr<metrics::AgentMetrics> metrics, Publisher publish,
                     Acknowledger acknowledge)
    : manager_(manager),
      list_(std::move(list)),
      claims_(std::move(claims)),
      options_(std::move(options)),
      clock_(clock ? std::move(clock) : system_clock()),
      logger_(logger ? std::move(logger) : log::null_logger()),
      metrics_(std::move(metrics)),
      publish_(std::move(publish)),
      acknowledge_(std::move(acknowledge)) {}

namespace {

bool final_state(EvacuationState s) {
  return s == EvacuationState::kFailed || s == EvacuationState::kResumed || s == EvacuationState::kMoved ||
         s == EvacuationState::kResumeFailed;
}

std::string failure_of(const Operation& op) {
  return op.failure ? op.failure->message : std::string(operations::to_string(op.state));
}

}  // namespace

void Evacuator::on_notice(const notices::TerminationNotice& notice) {
  if (notice.kind != notices::NoticeKind::kTermination) return;  // a rebalance only marks the node
  {
    std::lock_guard lock(mu_);
    if (evacuation_ && !finished_locked()) {
      logger_->info("termination notice while an evacuation runs: ignored",
                    {{"notice", notice.id}, {"evacuating_for", evacuation_->notice.id}});
      return;
    }
    if (evacuation_ && evacuation_->notice.id == notice.id && evacuation_->notice.provider == notice.provider) return;
  }
  Evacuation e;
  e.notice = notice;
  e.deadline = notice.deadline.value_or(notice.detected_at + options_.default_window);
  e.checkpoint_id = notice_checkpoint_id(notice);
  e.store = options_.store;
  auto listed = list_();  // Podman is asked outside the lock
  std::lock_guard lock(mu_);
  adopt_locked(e);
  evacuation_ = std::move(e);
  if (listed) {
    add_candidates_locked(*listed);
  } else {
    // Tried again on every tick until the deadline; the published notice
    // already tells the controller the node is going.
    logger_->error("evacuation: cannot list the node's workspaces yet",
                   {{"notice", notice.id}, {"error", listed.error().describe()}});
  }
  start_pending_locked();
  logger_->warning("evacuating the node", {{"notice", notice.id},
                                           {"deadline", utc_rfc3339(evacuation_->deadline)},
                                           {"checkpoint_id", evacuation_->checkpoint_id},
                                           {"workspaces", static_cast<std::int64_t>(evacuation_->workspaces.size())}});
  publish_locked();
}

// After an agent restart: the checkpoint operations this notice started
// before, whatever became of their workspaces (a checkpointed one no longer
// runs, so listing would miss it).
void Evacuator::adopt_locked(Evacuation& e) {
  const std::string prefix = e.checkpoint_id + "-";
  std::map<std::string, EvacuatedWorkspace> latest;  // by base operation id: the last attempt
  for (const auto& op : manager_.list()) {
    if (!op.id.starts_with(prefix) || op.request.kind != Kind::kCheckpoint) continue;
    // "<base>" with checkpoint id "<notice's>", or "<base>-rN" with "<notice's>-rN".
    int attempt = 0;
    std::string base = op.id;
    if (const auto r = op.id.rfind("-r"); r != std::string::npos && op.id.find("-checkpoint-r") != std::string::npos) {
      attempt = std::atoi(op.id.c_str() + r + 2);
      base = op.id.substr(0, r);
    }
    if (!base.ends_with("-checkpoint") || attempt < 0) continue;
    EvacuatedWorkspace w;
    w.checkpoint_base = base;
    w.checkpoint_attempt = attempt;
    if (op.request.checkpoint_id != checkpoint_id_of(e, w)) continue;
    if (auto it = latest.find(base); it != latest.end() && it->second.checkpoint_attempt >= attempt) continue;
    w.workspace.primary = op.request.workspace;
    w.workspace.project = op.request.project;
    w.workspace.workspace_id = op.outcome && !op.outcome->workspace_id.empty()
                                   ? op.outcome->workspace_id
                                   : (op.request.project.empty() ? op.request.workspace : op.request.project);
    w.checkpoint_operation = op.id;
    w.started = true;
    latest[base] = std::move(w);
  }
  for (auto& [base, w] : latest) e.workspaces.push_back(std::move(w));
}

void Evacuator::add_candidates_locked(const std::vector<inventory::Workspace>& listed) {
  evacuation_->listed = true;
  for (auto& candidate : evacuation_order(listed, options_.priority_label)) {
    EvacuatedWorkspace w;
    w.checkpoint_base = notice_operation_id(evacuation_->checkpoint_id, candidate.workspace_id, "checkpoint");
    w.checkpoint_operation = w.checkpoint_base;
    bool known = false;
    for (auto& existing : evacuation_->workspaces) {
      if (existing.checkpoint_base != w.checkpoint_base) continue;
      existing.workspace = candidate;  // adopted: now with its size and id
      known = true;
    }
    if (known) continue;
    w.workspace = std::move(candidate);
    evacuation_->workspaces.push_back(std::move(w));
  }
}

void Evacuator::start_pending_locked() {
  const bool late = clock_->wall_now() > evacuation_->deadline;
  for (auto& w : evacuation_->workspaces) {
    if (w.started || w.state != EvacuationState::kCheckpointing) continue;
    if (late) {
      w.state = EvacuationState::kFailed;
      w.deadline_met = false;
      if (metrics_) metrics_->deadline(metrics::DeadlineOutcome::kMissed);
      w.error = "not started by the deadline" + (w.error.empty() ? std::string() : ": " + w.error);
      continue;
    }
    Request r;
    r.kind = Kind::kCheckpoint;
    if (w.workspace.project.empty()) r.workspace = w.workspace.primary;
    else r.project = w.workspace.project;
    r.checkpoint_id = checkpoint_id_of(*evacuation_, w);
    r.store = evacuation_->store;
    auto started = manager_.start(w.checkpoint_operation, r);
    if (started) {
      w.started = true;
      w.error.clear();
      continue;
    }
    w.error = started.error().describe();
    const auto code = started.error().code();
    if (code == ErrorCode::kConflict || code == ErrorCode::kUnavailable) continue;  // tried again on the next tick
    w.state = EvacuationState::kFailed;
    logger_->error("evacuation: checkpoint not started", {{"workspace", w.workspace.workspace_id}, {"error", w.error}});
  }
}

bool Evacuator::finished_locked() const {
  for (const auto& w : evacuation_->workspaces)
    if (!final_state(w.state)) return false;
  return evacuation_->listed;
}

void Evacuator::tick() {
  bool list_again = false;
  {
    std::lock_guard lock(mu_);
    if (!evacuation_) return;
    list_again = !evacuation_->listed && clock_->wall_now() <= evacuation_->deadline;
  }
  std::optional<Result<std::vector<inventory::Workspace>>> listed;
  if (list_again) listed = list_();
  {
    std::lock_guard lock(mu_);
    const json before = to_json(*evacuation_);
    if (listed && *listed) add_candidates_locked(**listed);
    start_pending_locked();
    for (auto& w : evacuation_->workspaces) follow_locked(w);
    if (to_json(*evacuation_) != before) publish_locked();
  }
  acknowledge_if_durable();
}

bool Evacuator::all_durable_locked() const {
  if (!evacuation_->listed) return false;
  for (const auto& w : evacuation_->workspaces)
    if (w.state == EvacuationState::kCheckpointing || w.state == EvacuationState::kFailed) return false;
  return true;
}

// Outside the lock: the provider is asked over HTTP.
void Evacuator::acknowledge_if_durable() {
  std::optional<notices::TerminationNotice> notice;
  {
    std::lock_guard lock(mu_);
    if (!acknowledge_ || !evacuation_ || evacuation_->acknowledged || !all_durable_locked()) return;
    if (clock_->wall_now() > evacuation_->deadline) return;  // the provider goes ahead anyway
    notice = evacuation_->notice;
  }
  auto acked = acknowledge_(*notice);
  if (!acked) {
    logger_->warning("evacuation: cannot acknowledge the notice yet", {{"notice", notice->id},
                                                                        {"error", acked.error().describe()}});
    return;
  }
  std::lock_guard lock(mu_);
  if (!evacuation_ || evacuation_->notice.id != notice->id) return;
  evacuation_->acknowledged = true;
  logger_->info("evacuation: every checkpoint is durable; the notice was acknowledged", {{"notice", notice->id}});
  publish_locked();
}

std::optional<Evacuation> Evacuator::current() const {
  std::lock_guard lock(mu_);
  return evacuation_;
}

void Evacuator::follow_locked(EvacuatedWorkspace& w) {
  switch (w.state) {
    case EvacuationState::kCheckpointing: {
      if (!w.started) return;
      auto op = manager_.get(w.checkpoint_operation);
      if (!op || !operations::finished(op->state)) return;
      if (retry_checkpoint_locked(w, *op)) return;
      // Sealed before the agent died: recovery waits for the decision.
      const bool sealed = op->state == State::kSucceeded ||
                          (op->recovery && op->recovery->action == migration::RecoveryAction::kAwaitingDecision);
      auto finished = parse_utc_rfc3339(op->finished_at);
      w.deadline_met = finished && *finished <= evacuation_->deadline && sealed;
      if (metrics_) metrics_->deadline(*w.deadline_met ? metrics::DeadlineOutcome::kMet : metrics::DeadlineOutcome::kMissed);
      if (sealed) {
        w.state = EvacuationState::kCheckpointed;
        if (op->outcome && !op->outcome->workspace_id.empty()) w.workspace.workspace_id = op->outcome->workspace_id;
      } else {
        w.state = EvacuationState::kFailed;
        w.error = failure_of(*op);
      }
      logger_->info("evacuation: checkpoint ended", {{"workspace", w.workspace.workspace_id},
                                                     {"state", to_string(w.state)},
                                                     {"deadline_met", *w.deadline_met}});
      return;
    }
    case EvacuationState::kCheckpointed: {
      const auto now = clock_->wall_now();
      if (now >= evacuation_->deadline + options_.resume_grace && now >= w.next_resume) resume_locked(w);
      return;
    }
    case EvacuationState::kResuming: {
      auto op = manager_.get(w.resume_operation);
      if (!op || !operations::finished(op->state)) return;
      if (op->state == State::kSucceeded) {
        w.state = EvacuationState::kResumed;
        w.error.clear();
      } else if (op->failure && op->failure->code == "conflict") {
        resume_refused_locked(w, failure_of(*op));
      } else {
        w.state = EvacuationState::kResumeFailed;
        w.error = failure_of(*op);
      }
      logger_->info("evacuation: resume ended",
                    {{"workspace", w.workspace.workspace_id}, {"state", to_string(w.state)}});
      return;
    }
    default:
      return;
  }
}

// A checkpoint an agent restart interrupted before its seal, the workspace
// running here again (or never stopped): another attempt while the
// deadline allows.
bool Evacuator::retry_checkpoint_locked(EvacuatedWorkspace& w, const Operation& op) {
  const bool never_began = op.state == State::kCancelled && op.started_at.empty();
  const bool undone = op.recovery && op.recovery->action &&
                      (*op.recovery->action == migration::RecoveryAction::kResumedOnSource ||
                       *op.recovery->action == migration::RecoveryAction::kLockFreed);
  if (!(never_began || undone) || clock_->wall_now() >= evacuation_->deadline) return false;
  ++w.checkpoint_attempt;
  w.checkpoint_operation = w.checkpoint_base + "-r" + std::to_string(w.checkpoint_attempt);
  w.started = false;
  w.error = "attempt " + std::to_string(w.checkpoint_attempt) + " was interrupted: " + failure_of(op);
  logger_->warning("evacuation: checkpoint interrupted by a restart; trying again",
                   {{"workspace", w.workspace.workspace_id}, {"operation", w.checkpoint_operation}});
  start_pending_locked();
  return true;
}

// The resume phase refused: the claim says who has the checkpoint.
void Evacuator::resume_refused_locked(EvacuatedWorkspace& w, const std::string& why) {
  constexpr auto kRetry = std::chrono::seconds(10);
  auto claim = claims_ ? claims_(evacuation_->store, w.workspace.workspace_id, checkpoint_id_of(*evacuation_, w))
                       : Result<migration::ClaimState>(Error(ErrorCode::kUnsupported, "no claim reader"));
  if (claim && *claim == migration::ClaimState::kRestored) {
    w.state = EvacuationState::kMoved;  // restored elsewhere: the controller releases this copy
    w.error.clear();
    return;
  }
  if (claim && *claim == migration::ClaimState::kResumed) {
    w.state = EvacuationState::kResumed;
    w.error.clear();
    return;
  }
  // A restore still in progress (it may yet give up and abandon), or a
  // claim that could not be read: try again a little later.
  w.state = EvacuationState::kCheckpointed;
  w.next_resume = clock_->wall_now() + kRetry;
  w.error = why + (claim ? "; claim: " + std::string(migration::to_string(*claim))
                         : "; claim unreadable: " + claim.error().describe());
}

void Evacuator::resume_locked(EvacuatedWorkspace& w) {
  std::string id = notice_operation_id(checkpoint_id_of(*evacuation_, w), w.workspace.workspace_id, "resume");
  if (w.resume_attempts > 0) id += "-" + std::to_string(w.resume_attempts);
  Request r;
  r.kind = Kind::kResume;
  r.workspace = w.workspace.workspace_id;
  r.checkpoint_id = checkpoint_id_of(*evacuation_, w);
  r.store = evacuation_->store;
  auto started = manager_.start(id, r);
  if (!started) {
    // Tried again on the next tick (the manager may be busy or stopping).
    logger_->warning("evacuation: resume in place not started",
                     {{"workspace", w.workspace.workspace_id}, {"error", started.error().describe()}});
    return;
  }
  ++w.resume_attempts;
  w.resume_operation = id;
  w.state = EvacuationState::kResuming;
  logger_->warning("evacuation: no restore claimed the checkpoint by the deadline and grace; resuming in place",
                   {{"workspace", w.workspace.workspace_id}, {"checkpoint_id", checkpoint_id_of(*evacuation_, w)}});
}

void Evacuator::publish_locked() {
  if (publish_) publish_(to_json(*evacuation_));
}

}  // namespace wscp::agent::evacuation
