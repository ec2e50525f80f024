#include "agent/evacuation/evacuator.h"

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

json to_json(const Evacuation& e) {
  json workspaces = json::array();
  for (const auto& w : e.workspaces) {
    json j{{"workspace", w.workspace.workspace_id},
           {"container", w.workspace.primary},
           {"checkpointId", e.checkpoint_id},
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
              {"workspaces", workspaces}};
}

Evacuator::Evacuator(operations::OperationManager& manager, WorkspaceLister list, EvacuationOptions options,
                     std::shared_ptr<Clock> clock, std::shared_ptr<log::Logger> logger,
                     std::shared_ptr<metrics::AgentMetrics> metrics, Publisher publish)
    : manager_(manager),
      list_(std::move(list)),
      options_(std::move(options)),
      clock_(clock ? std::move(clock) : system_clock()),
      logger_(logger ? std::move(logger) : log::null_logger()),
      metrics_(std::move(metrics)),
      publish_(std::move(publish)) {}

void Evacuator::on_notice(const notices::TerminationNotice& notice) {
  if (notice.kind != notices::NoticeKind::kTermination) return;  // a rebalance only marks the node
  std::lock_guard lock(mu_);
  if (evacuation_) {
    logger_->info("termination notice while an evacuation runs: ignored",
                  {{"notice", notice.id}, {"evacuating_for", evacuation_->notice.id}});
    return;
  }
  Evacuation e;
  e.notice = notice;
  e.deadline = notice.deadline.value_or(notice.detected_at + options_.default_window);
  e.checkpoint_id = notice_checkpoint_id(notice);
  e.store = options_.store;
  auto listed = list_();
  if (!listed) {
    // Nothing can be checkpointed without knowing what runs; the published
    // notice still tells the controller the node is going.
    logger_->error("evacuation: cannot list the node's workspaces",
                   {{"notice", notice.id}, {"error", listed.error().describe()}});
    evacuation_ = std::move(e);
    publish_locked();
    return;
  }
  for (auto& candidate : evacuation_order(*listed, options_.priority_label)) {
    EvacuatedWorkspace w;
    w.checkpoint_operation = notice_operation_id(e.checkpoint_id, candidate.workspace_id, "checkpoint");
    Request r;
    r.kind = Kind::kCheckpoint;
    if (candidate.project.empty()) r.workspace = candidate.primary;
    else r.project = candidate.project;
    r.checkpoint_id = e.checkpoint_id;
    r.store = options_.store;
    w.workspace = std::move(candidate);
    auto started = manager_.start(w.checkpoint_operation, r);
    if (!started) {
      w.state = EvacuationState::kFailed;
      w.error = started.error().describe();
      logger_->error("evacuation: checkpoint not started",
                     {{"workspace", w.workspace.workspace_id}, {"error", w.error}});
    }
    e.workspaces.push_back(std::move(w));
  }
  logger_->warning("evacuating the node", {{"notice", notice.id},
                                           {"deadline", utc_rfc3339(e.deadline)},
                                           {"checkpoint_id", e.checkpoint_id},
                                           {"workspaces", static_cast<std::int64_t>(e.workspaces.size())}});
  evacuation_ = std::move(e);
  publish_locked();
}

void Evacuator::tick() {
  std::lock_guard lock(mu_);
  if (!evacuation_) return;
  const json before = to_json(*evacuation_);
  for (auto& w : evacuation_->workspaces) follow_locked(w);
  if (to_json(*evacuation_) != before) publish_locked();
}

std::optional<Evacuation> Evacuator::current() const {
  std::lock_guard lock(mu_);
  return evacuation_;
}

void Evacuator::follow_locked(EvacuatedWorkspace& w) {
  switch (w.state) {
    case EvacuationState::kCheckpointing: {
      auto op = manager_.get(w.checkpoint_operation);
      if (!op || !operations::finished(op->state)) return;
      auto finished = parse_utc_rfc3339(op->finished_at);
      w.deadline_met = finished && *finished <= evacuation_->deadline && op->state == State::kSucceeded;
      if (metrics_) metrics_->deadline(*w.deadline_met ? metrics::DeadlineOutcome::kMet : metrics::DeadlineOutcome::kMissed);
      if (op->state == State::kSucceeded) {
        w.state = EvacuationState::kCheckpointed;
      } else {
        w.state = EvacuationState::kFailed;
        w.error = op->failure ? op->failure->message : std::string(operations::to_string(op->state));
      }
      logger_->info("evacuation: checkpoint ended", {{"workspace", w.workspace.workspace_id},
                                                     {"state", to_string(w.state)},
                                                     {"deadline_met", *w.deadline_met}});
      return;
    }
    case EvacuationState::kCheckpointed:
      if (clock_->wall_now() >= evacuation_->deadline + options_.resume_grace) resume_locked(w);
      return;
    case EvacuationState::kResuming: {
      auto op = manager_.get(w.resume_operation);
      if (!op || !operations::finished(op->state)) return;
      if (op->state == State::kSucceeded) {
        w.state = EvacuationState::kResumed;
      } else if (op->failure && op->failure->code == "conflict") {
        // The resume claim was refused: a restore holds it.
        w.state = EvacuationState::kMoved;
      } else {
        w.state = EvacuationState::kResumeFailed;
        w.error = op->failure ? op->failure->message : std::string(operations::to_string(op->state));
      }
      logger_->info("evacuation: resume ended",
                    {{"workspace", w.workspace.workspace_id}, {"state", to_string(w.state)}});
      return;
    }
    default:
      return;
  }
}

void Evacuator::resume_locked(EvacuatedWorkspace& w) {
  w.resume_operation = notice_operation_id(evacuation_->checkpoint_id, w.workspace.workspace_id, "resume");
  Request r;
  r.kind = Kind::kResume;
  r.workspace = w.workspace.workspace_id;
  r.checkpoint_id = evacuation_->checkpoint_id;
  r.store = evacuation_->store;
  auto started = manager_.start(w.resume_operation, r);
  if (!started) {
    // Tried again on the next tick (the manager may be busy or restarting).
    logger_->warning("evacuation: resume in place not started",
                     {{"workspace", w.workspace.workspace_id}, {"error", started.error().describe()}});
    w.resume_operation.clear();
    return;
  }
  w.state = EvacuationState::kResuming;
  logger_->warning("evacuation: no restore claimed the checkpoint by the deadline and grace; resuming in place",
                   {{"workspace", w.workspace.workspace_id}, {"checkpoint_id", evacuation_->checkpoint_id}});
}

void Evacuator::publish_locked() {
  if (publish_) publish_(to_json(*evacuation_));
}

}  // namespace wscp::agent::evacuation
