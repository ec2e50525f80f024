#include "agent/operations/migration_phase_runner.h"

#include "migration/archive_retention.h"
#include "migration/checkpoint_phase.h"
#include "migration/plan_phase.h"
#include "migration/recovery.h"
#include "migration/restore_phase.h"
#include "migration/source_phases.h"

namespace wscp::agent::operations {

namespace {

Kind kind_of(migration::Phase phase) {
  switch (phase) {
    case migration::Phase::kCheckpoint: return Kind::kCheckpoint;
    case migration::Phase::kRestore: return Kind::kRestore;
    case migration::Phase::kRelease: return Kind::kRelease;
    case migration::Phase::kResume: return Kind::kResume;
  }
  return Kind::kCheckpoint;
}

}  // namespace

Result<migration::NodeServices*> MigrationPhaseRunner::pick(std::string_view store) const {
  if (store.empty() && stores_.size() == 1) return stores_.begin()->second;
  if (auto it = stores_.find(std::string(store)); it != stores_.end()) return it->second;
  std::string names;
  for (const auto& [name, s] : stores_) names += (names.empty() ? "" : ", ") + name;
  if (store.empty())
    return Error(ErrorCode::kInvalidArgument, "this agent has several stores (" + names + "): name one in \"store\"");
  return Error(ErrorCode::kInvalidArgument,
               "store \"" + std::string(store) + "\" is not configured on this agent (configured: " +
                   (names.empty() ? std::string("none") : names) + ")");
}

std::optional<std::chrono::seconds> MigrationPhaseRunner::collection_due(migration::NodeServices& node) {
  const auto now = node.clock.now();
  std::lock_guard lock(collection_mu_);
  auto [it, first] = last_collection_.try_emplace(&node, now);
  if (!first && now - it->second < node.settings.image_collection_interval) return std::nullopt;
  it->second = now;
  return node.settings.image_grace;
}

Status MigrationPhaseRunner::check_store(std::string_view store) const {
  auto s = pick(store);
  if (!s) return s.error();
  return Ok{};
}

Result<Outcome> MigrationPhaseRunner::run(const Request& request, RunContext& run) {
  auto picked = pick(request.store);
  if (!picked) return picked.error();
  migration::NodeServices& node = **picked;
  Outcome out;
  out.checkpoint_id = request.checkpoint_id;
  switch (request.kind) {
    case Kind::kCheckpoint: {
      run.begin_step("plan");
      migration::PlanRequest pr;
      pr.workspace = request.workspace;
      pr.project = request.project;
      pr.checkpoint_id = request.checkpoint_id;
      pr.checkpoint.tcp_established = request.tcp_established;
      pr.checkpoint.file_locks = request.file_locks;
      pr.restore.tcp_established = request.tcp_established;
      pr.restore.file_locks = request.file_locks;
      auto plan = migration::make_plan(node, pr);
      if (!plan) return plan.error();
      if (run.ctx.cancelled()) return Error(ErrorCode::kCancelled, "cancelled after the plan, before any freeze");
      run.begin_step("checkpoint");
      auto sealed = migration::checkpoint_workspace(node, *plan, run.ctx);
      if (!sealed) return sealed.error();
      out.workspace_id = plan->workspace_id;
      out.primary = plan->primary;
      for (const auto& d : sealed->dumps) {
        out.containers.push_back(d.facts.name);
        out.archive_bytes += d.archive_bytes;
        if (d.stats)
          out.criu.push_back(CriuStats{d.facts.name, d.stats->freezing_time_us, d.stats->frozen_time_us,
                                       d.stats->memdump_time_us, d.stats->memwrite_time_us, d.stats->pages_scanned,
                                       d.stats->pages_written});
      }
      out.images = sealed->images_stored;
      out.duration_ms = sealed->duration.count();
      return out;
    }
    case Kind::kRestore: {
      run.begin_step("restore");
      std::optional<migration::CutThrough> cut_through;
      if (request.cut_through) cut_through = migration::CutThrough{};
      auto restored =
          migration::restore_workspace(node, request.workspace, request.checkpoint_id, run.ctx, cut_through);
      if (!restored) return restored.error();
      out.workspace_id = request.workspace;
      out.primary = restored->primary;
      for (const auto& c : restored->containers) out.containers.push_back(c.container.name);
      out.images = restored->images_loaded;
      out.duration_ms = restored->duration.count();
      out.cut_through = restored->cut_through;
      out.archive_bytes = restored->archive_bytes;
      return out;
    }
    case Kind::kRelease: {
      run.begin_step("release");
      auto s = migration::release_source(node, request.workspace, request.checkpoint_id, run.ctx);
      if (!s) return s.error();
      out.workspace_id = request.workspace;
      return out;
    }
    case Kind::kResume: {
      run.begin_step("resume");
      auto resumed = migration::resume_source(node, request.workspace, request.checkpoint_id, run.ctx);
      if (!resumed) return resumed.error();
      out.workspace_id = request.workspace;
      for (const auto& c : *resumed) out.containers.push_back(c.container.name);
      return out;
    }
    case Kind::kDelete: {
      run.begin_step("delete");
      auto done = migration::delete_checkpoint(node, request.workspace, request.checkpoint_id,
                                               [&] { return collection_due(node); }, run.ctx);
      if (!done) return done.error();
      out.workspace_id = request.workspace;
      out.archive_bytes = done->deleted.bytes;
      if (done->images) out.images = done->images->removed;
      if (done->collection_failed)
        out.warnings.push_back("image collection failed: " + done->collection_failed->describe());
      return out;
    }
  }
  return Error(ErrorCode::kInternal, "unknown operation kind");
}

Status MigrationPhaseRunner::preflight(const PreflightRequest& request) {
  auto picked = pick(request.store);
  if (!picked) return picked.error();
  migration::NodeServices& node = **picked;
  Result<migration::Plan> plan =
      request.plan ? migration::parse_plan(request.plan->dump(), node.verify_keys())
                   : migration::read_plan(node, request.workspace_id, request.checkpoint_id);
  if (!plan) return plan.error();
  return migration::preflight_plan(node.engine, *plan);
}

RecoveryReport MigrationPhaseRunner::recover(const OperationContext& ctx) {
  RecoveryReport report;
  for (const auto& [name, node] : stores_) {
    auto recovered = migration::recover_pending(*node, ctx);
    if (!recovered) {
      report.failed_stores.emplace(name, recovered.error().wrap("store " + name));
      continue;  // one unreachable store does not hold back the others
    }
    for (const auto& r : *recovered)
      report.entries.push_back(RecoveredEntry{r.entry.checkpoint_id, r.entry.workspace_id, kind_of(r.entry.phase),
                                              r.outcome, r.pending, r.error, r.action,
                                              r.entry.containers});
  }
  return report;
}

}  // namespace wscp::agent::operations
