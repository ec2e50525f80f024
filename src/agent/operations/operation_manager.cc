#include "agent/operations/operation_manager.h"

#include "common/time_format.h"

namespace wscp::agent::operations {

namespace {

// Whether two requests act on one workspace of one store. A request naming
// no store means the only one: it may be the other's, so it is taken to be.
bool touches_same(const Request& a, const Request& b) {
  if (!a.store.empty() && !b.store.empty() && a.store != b.store) return false;
  const std::string& wa = a.workspace.empty() ? a.project : a.workspace;
  const std::string& wb = b.workspace.empty() ? b.project : b.workspace;
  return !wa.empty() && wa == wb;
}

metrics::OperationKind metric_kind(Kind kind) {
  switch (kind) {
    case Kind::kCheckpoint: return metrics::OperationKind::kCheckpoint;
    case Kind::kRestore: return metrics::OperationKind::kRestore;
    case Kind::kRelease: return metrics::OperationKind::kRelease;
    case Kind::kResume: return metrics::OperationKind::kResume;
    case Kind::kDelete: return metrics::OperationKind::kDelete;
  }
  return metrics::OperationKind::kCheckpoint;
}

bool moves_archives(Kind kind) { return kind == Kind::kCheckpoint || kind == Kind::kRestore; }

// What recovery did with the journal entry of an operation that was running.
Recovery recovery_of(const Request& request, const RecoveryReport& report) {
  Recovery rec;
  // An operation naming no store used the only one there is.
  auto failed = request.store.empty() && !report.failed_stores.empty() ? report.failed_stores.begin()
                                                                       : report.failed_stores.find(request.store);
  if (failed != report.failed_stores.end()) {
    rec.action = migration::RecoveryAction::kFailed;
    rec.outcome = "recovery failed: " + failed->second.message();
    rec.pending = true;
    return rec;
  }
  rec.action = migration::RecoveryAction::kAlreadyFinished;
  rec.outcome = "no unfinished journal entry remained for checkpoint " + request.checkpoint_id;
  // An evacuation's workspaces share one checkpoint id: the entry of this
  // request's workspace, or else the only entry of its checkpoint and kind
  // (the request may name a container where the journal has the workspace id).
  const std::string& workspace = request.workspace.empty() ? request.project : request.workspace;
  const RecoveredEntry* match = nullptr;
  std::size_t candidates = 0;
  for (const auto& r : report.entries) {
    if (r.checkpoint_id != request.checkpoint_id || r.kind != request.kind) continue;
    // A request names the workspace by id or by one of its containers.
    if (r.workspace_id == workspace ||
        std::find(r.containers.begin(), r.containers.end(), workspace) != r.containers.end()) {
      match = &r;
      candidates = 1;
      break;
    }
    ++candidates;
    match = &r;
  }
  if (match == nullptr) return rec;
  if (candidates != 1) {
    // Which one was this request's cannot be told: a person looks.
    rec.action = migration::RecoveryAction::kFailed;
    rec.outcome = "several workspaces' journal entries for checkpoint " + request.checkpoint_id + ", none of " +
                  workspace + ": see the agent's log of its recovery";
    rec.pending = true;
    return rec;
  }
  rec.action = match->action;
  rec.outcome = match->outcome + (match->error ? " (" + match->error->message() + ")" : "");
  rec.pending = match->pending;
  return rec;
}

}  // namespace

OperationManager::OperationManager(std::unique_ptr<OperationStore> store, PhaseRunner& runner,
                                   ManagerOptions options, std::shared_ptr<Clock> clock,
                                   std::shared_ptr<log::Logger> logger,
                                   std::shared_ptr<metrics::AgentMetrics> metrics)
    : store_(std::move(store)),
      runner_(runner),
      options_(options),
      clock_(clock ? std::move(clock) : system_clock()),
      logger_(logger ? std::move(logger) : log::null_logger()),
      metrics_(std::move(metrics)),
      budget_(options.memory_budget_bytes),
      executor_(std::make_unique<Executor>(options.workers)) {}

OperationManager::~OperationManager() { shutdown(std::chrono::milliseconds(0)); }

std::string OperationManager::now_text() const { return utc_rfc3339(clock_->wall_now()); }

void OperationManager::persist_locked(const Entry& entry) {
  if (auto s = store_->save(entry.op); !s) {
    // The operation goes on; only its record after a restart is at stake.
    logger_->error("cannot record operation", {{"operation", entry.op.id}, {"error", s.error().describe()}});
  }
}

void OperationManager::finish_step_locked(Entry& entry) {
  if (entry.op.steps.empty() || entry.op.steps.back().duration_ms >= 0) return;
  entry.op.steps.back().duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_->now() - entry.step_started).count();
}

Status OperationManager::open() {
  auto records = store_->load_all();
  if (!records) return records.error();
  OperationContext ctx;
  ctx.operation_id = "recovery";
  const RecoveryReport recovered = runner_.recover(ctx);
  for (const auto& [store, error] : recovered.failed_stores)
    logger_->error("recovery at start failed", {{"store", store}, {"error", error.describe()}});
  std::lock_guard lock(mu_);
  for (auto& op : *records) {
    auto entry = std::make_shared<Entry>();
    entry->op = std::move(op);
    Operation& o = entry->op;
    if (o.state == State::kPending) {
      o.state = State::kCancelled;
      o.finished_at = now_text();
      o.failure = Failure{"cancelled", "the agent restarted before this operation began; start it again with a new id"};
      persist_locked(*entry);
    } else if (o.state == State::kRunning) {
      // The interrupted step's duration is unknown: its start was measured
      // by the process that died; it stays -1.
      o.recovery = recovery_of(o.request, recovered);
      o.state = State::kFailed;
      o.finished_at = now_text();
      o.failure = Failure{"unavailable", "the agent stopped while this operation ran; it is not run again. Recovery: " +
                                             o.recovery->outcome};
      persist_locked(*entry);
      logger_->warning("operation interrupted by a restart",
                       {{"operation", o.id}, {"recovery", o.recovery->outcome}});
    }
    entries_[entry->op.id] = entry;
  }
  if (!recovered.failed_stores.empty()) return recovered.failed_stores.begin()->second;
  return Ok{};
}

Result<Started> OperationManager::start(const std::string& id, const Request& request) {
  if (auto s = validate_operation_id(id); !s) return s.error();
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(id); it != entries_.end()) {
      const Operation& existing = it->second->op;
      if (existing.request == request) return Started{existing, false};
      return Error(ErrorCode::kConflict, "operation " + id + " exists with another request (" +
                                             to_json(existing.request).dump() +
                                             "); repeat that request or choose a new id");
    }
    if (!accepting_) return Error(ErrorCode::kUnavailable, "the agent is shutting down and starts no new operation");
    // The phases let this node re-enter its own step only because the
    // earlier attempt is dead (replay after a crash): two live operations on
    // one workspace or checkpoint would undo each other.
    for (const auto& [other_id, other] : entries_) {
      if (other->op.state != State::kPending && other->op.state != State::kRunning) continue;
      if (touches_same(other->op.request, request)) {
        return Error(ErrorCode::kConflict, "operation " + other_id + " (" + std::string(to_string(other->op.request.kind)) +
                                               ") is still running on workspace " +
                                               (request.workspace.empty() ? request.project : request.workspace) +
                                               "; wait for it "
                                               "or cancel it first");
      }
    }
    if (auto s = runner_.check_store(request.store); !s) return s.error();
    entry = std::make_shared<Entry>();
    entry->op.id = id;
    entry->op.request = request;
    entry->op.state = State::kPending;
    entry->op.created_at = now_text();
    if (auto s = store_->save(entry->op); !s) return s.error().wrap("operation " + id + " was not started");
    entries_[id] = entry;
    ++active_;
    // Submitted under the lock, so that shutdown cannot stop the executor in between.
    if (!executor_->submit([this, entry] { run(entry); })) {
      entry->op.state = State::kCancelled;
      entry->op.finished_at = now_text();
      entry->op.failure = Failure{"cancelled", "the agent is shutting down"};
      persist_locked(*entry);
      --active_;
      return Error(ErrorCode::kUnavailable, "the agent is shutting down and starts no new operation");
    }
  }
  logger_->info("operation accepted", {{"operation", id},
                                       {"kind", to_string(request.kind)},
                                       {"workspace", request.workspace.empty() ? request.project : request.workspace},
                                       {"checkpoint", request.checkpoint_id}});
  std::lock_guard lock(mu_);
  return Started{entry->op, true};
}

void OperationManager::run(const std::shared_ptr<Entry>& entry) {
  const Kind kind = entry->op.request.kind;
  auto log = log::with_fields(logger_, {{"operation", entry->op.id}});
  auto end = [&](State state, std::optional<Outcome> outcome, std::optional<Error> error) {
    std::lock_guard lock(mu_);
    finish_step_locked(*entry);
    entry->op.state = state;
    entry->op.finished_at = now_text();
    entry->op.outcome = std::move(outcome);
    if (error) entry->op.failure = Failure::from(*error);
    persist_locked(*entry);
    --active_;
    idle_.notify_all();
  };
  if (entry->cancel->cancelled()) {
    end(State::kCancelled, std::nullopt, Error(ErrorCode::kCancelled, "cancelled before it began"));
    if (metrics_) metrics_->operation_finished(metric_kind(kind), metrics::OperationResult::kCancelled);
    return;
  }
  {
    std::lock_guard lock(mu_);
    entry->op.progress.stage = "waiting for memory";
  }
  auto grant = budget_.acquire(moves_archives(kind) ? options_.transfer_buffer_bytes : 0, entry->cancel.get());
  if (!grant) {
    end(State::kCancelled, std::nullopt, grant.error());
    if (metrics_) metrics_->operation_finished(metric_kind(kind), metrics::OperationResult::kCancelled);
    return;
  }
  {
    std::lock_guard lock(mu_);
    entry->op.state = State::kRunning;
    entry->op.started_at = now_text();
    entry->op.progress.stage = "running";
    persist_locked(*entry);
  }
  if (metrics_) metrics_->operation_started(metric_kind(kind));
  log->info("operation running", {{"kind", to_string(kind)}});

  StepClock steps;
  OperationContext ctx;
  ctx.operation_id = entry->op.id;
  ctx.cancel = entry->cancel;
  ctx.on_progress = steps.tee([this, entry](const wscp::Progress& p) {
    std::lock_guard lock(mu_);
    entry->op.progress = Progress{p.stage, p.bytes_done, p.bytes_total, p.bytes_per_second};
  });
  RunContext run_ctx{ctx, [this, entry](std::string_view step) {
                       std::lock_guard lock(mu_);
                       finish_step_locked(*entry);
                       entry->op.steps.push_back(StepTiming{std::string(step), now_text(), -1});
                       entry->step_started = clock_->now();
                       entry->op.progress.stage = std::string(step);
                       persist_locked(*entry);
                     }};
  auto result = runner_.run(entry->op.request, run_ctx);
  // The grant is released when this function returns, after the record
  // says the operation ended: never more running than the budget admits.
  record_step_metrics(kind, steps, result);
  if (metrics_) metrics_->operation_ended(metric_kind(kind));
  if (result) {
    log->info("operation succeeded", {{"kind", to_string(kind)}, {"durationMs", result->duration_ms}});
    end(State::kSucceeded, *result, std::nullopt);
    if (metrics_) metrics_->operation_finished(metric_kind(kind), metrics::OperationResult::kSucceeded);
    return;
  }
  const bool cancelled = result.error().code() == ErrorCode::kCancelled;
  log->warning("operation failed", {{"kind", to_string(kind)}, {"error", result.error().describe()}});
  end(cancelled ? State::kCancelled : State::kFailed, std::nullopt, result.error());
  if (metrics_)
    metrics_->operation_finished(metric_kind(kind), cancelled ? metrics::OperationResult::kCancelled
                                                              : metrics::OperationResult::kFailed);
}

std::map<metrics::Step, std::chrono::milliseconds> OperationManager::measured_steps(const StepClock& steps,
                                                                                   const Outcome& outcome) {
  auto measured = steps.durations();
  // The freeze is CRIU's own figure, summed over a project's containers.
  std::uint64_t freezing_us = 0;
  for (const auto& c : outcome.criu) freezing_us += c.freezing_time_us;
  if (!outcome.criu.empty())
    measured[metrics::Step::kFreeze] = std::chrono::milliseconds(static_cast<std::int64_t>(freezing_us / 1000));
  return measured;
}

void OperationManager::record_step_metrics(Kind kind, const StepClock& steps, Result<Outcome>& result) {
  // Only checkpoints and restores are measured in steps (a resume restores
  // Podman's kept checkpoint, or the archive: its figures would blur the
  // restores'); bytes moved count for every kind, whatever the end.
  const bool stepped = kind == Kind::kCheckpoint || kind == Kind::kRestore;
  std::map<metrics::Step, std::chrono::milliseconds> measured;
  if (result && stepped) {
    measured = measured_steps(steps, *result);
    result->step_durations_ms = step_durations_ms(measured);
  }
  if (!metrics_) return;
  for (auto direction : {metrics::Direction::kUpload, metrics::Direction::kDownload})
    if (auto bytes = steps.bytes(direction)) metrics_->bytes_transferred(direction, bytes);
  if (!result) {
    // A restore's archive that failed verification: the store (or someone
    // with access to it) changed it. The store's request failures are
    // counted where they happen (see store::StoreEvents).
    if (kind == Kind::kRestore && result.error().code() == ErrorCode::kIntegrity) metrics_->store_error("integrity");
    return;
  }
  // Durations only of what succeeded: a failed step's time says when it
  // failed, not how long it takes.
  for (const auto& [step, duration] : measured) metrics_->step_duration(step, duration);
}

Result<Operation> OperationManager::get(const std::string& id) const {
  if (auto s = validate_operation_id(id); !s) return s.error();
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return Error(ErrorCode::kNotFound, "no operation " + id + " on this node");
  return it->second->op;
}

Result<Operation> OperationManager::cancel(const std::string& id) {
  if (auto s = validate_operation_id(id); !s) return s.error();
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return Error(ErrorCode::kNotFound, "no operation " + id + " on this node");
  if (!finished(it->second->op.state)) {
    it->second->cancel->cancel();
    logger_->info("operation cancel requested", {{"operation", id}});
  }
  return it->second->op;
}

std::size_t OperationManager::prune_finished() {
  const auto horizon = clock_->wall_now() - options_.retention;
  std::vector<std::shared_ptr<Entry>> old;
  {
    std::lock_guard lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      const Operation& op = it->second->op;
      auto finished_at = parse_utc_rfc3339(op.finished_at);
      // A recovery still pending is the caller's only word on what became
      // of the workspace: kept until someone decides.
      const bool pending_recovery = op.recovery && op.recovery->pending;
      if (!finished(op.state) || !finished_at || *finished_at >= horizon || pending_recovery) {
        ++it;
        continue;
      }
      old.push_back(it->second);
      it = entries_.erase(it);
    }
  }
  // Files are removed outside the lock: running operations report progress under it.
  std::size_t removed = 0;
  for (const auto& entry : old) {
    if (auto s = store_->remove(entry->op.id); !s) {
      logger_->warning("cannot forget an old operation",
                       {{"operation", entry->op.id}, {"error", s.error().describe()}});
      std::lock_guard lock(mu_);
      entries_.emplace(entry->op.id, entry);  // still on disk: still answered
      continue;
    }
    ++removed;
  }
  if (removed > 0) logger_->info("forgot old operations", {{"count", static_cast<std::int64_t>(removed)}});
  return removed;
}

std::vector<Operation> OperationManager::list() const {
  std::lock_guard lock(mu_);
  std::vector<Operation> out;
  for (const auto& [id, e] : entries_) out.push_back(e->op);
  return out;
}

bool OperationManager::accepting() const {
  std::lock_guard lock(mu_);
  return accepting_;
}

std::size_t OperationManager::active() const {
  std::lock_guard lock(mu_);
  return active_;
}

void OperationManager::shutdown(std::chrono::milliseconds grace) {
  {
    std::unique_lock lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    accepting_ = false;
    for (auto& [id, e] : entries_)
      if (e->op.state == State::kPending) e->cancel->cancel();
    budget_.poke();
    if (!idle_.wait_for(lock, grace, [this] { return active_ == 0; })) {
      logger_->warning("grace period over: cancelling what still runs", {{"running", active_}});
      for (auto& [id, e] : entries_)
        if (!finished(e->op.state)) e->cancel->cancel();
    }
  }
  executor_->stop();
}

}  // namespace wscp::agent::operations
