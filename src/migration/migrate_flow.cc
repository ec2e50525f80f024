#include "migration/migrate_flow.h"

#include "migration/source_phases.h"
#include "migration/workspace_lock.h"

namespace wscp::migration {
namespace {

// Whether every container of the plan runs on the source now (Podman is
// the truth after a failed step).
std::vector<podman::Workspace> running_on(NodeServices& node, const Plan& plan) {
  std::vector<podman::Workspace> running;
  for (const auto& c : plan.containers) {
    auto now = node.engine.client().inspect_container(c.id);
    if (!now || !now->running()) return {};
    auto id = c.labels.find(node.engine.config().workspace_label);
    running.push_back({id == c.labels.end() ? "" : id->second, *now});
  }
  return running;
}

}  // namespace

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kMigrated: return "migrated";
    case Outcome::kKeptOnSource: return "kept-on-source";
    case Outcome::kStopped: return "STOPPED";
  }
  return "unknown";
}

Result<MigrationReport> migrate_workspace(NodeServices& source, NodeServices& destination, const PlanRequest& request,
                                          const OperationContext& ctx) {
  auto plan = make_plan(source, request);
  if (!plan) return plan.error();
  MigrationReport report;
  report.plan = *plan;
  if (auto st = preflight_plan(destination.engine, *plan); !st) {
    (void)WorkspaceLock(source.documents, source.verify_keys(), plan->workspace_id).release(source.node, plan->checkpoint_id);
    (void)source.journal.finish(plan->checkpoint_id, Phase::kCheckpoint);
    return st.error().wrap("the destination refused before the checkpoint; the workspace was not touched");
  }

  auto sealed = checkpoint_workspace(source, *plan, ctx);
  if (!sealed) {
    // The checkpoint phase resumed the workspace itself (before the seal).
    report.failure = sealed.error();
    report.running = running_on(source, *plan);
    report.outcome = report.running.empty() ? Outcome::kStopped : Outcome::kKeptOnSource;
    return report;
  }
  report.checkpoint_duration = sealed->duration;
  report.sealed = std::move(*sealed);

  auto restored = restore_workspace(destination, plan->workspace_id, plan->checkpoint_id, ctx);
  if (!restored) {
    report.failure = restored.error().wrap("restore on the destination");
    auto back = resume_source(source, plan->workspace_id, plan->checkpoint_id, OperationContext{});
    if (!back) {
      report.failure = Error(back.error().code(), report.failure->message() + "; resuming on the source failed too (" +
                                                      back.error().message() + ")");
      report.outcome = Outcome::kStopped;
      return report;
    }
    report.running = std::move(*back);
    report.outcome = Outcome::kKeptOnSource;
    return report;
  }
  report.restore_duration = restored->duration;
  report.running = restored->containers;
  report.restored = std::move(*restored);
  if (auto st = release_source(source, plan->workspace_id, plan->checkpoint_id, ctx); !st) {
    report.warnings.push_back("the checkpointed copy on the source could not be released: " + st.error().message() +
                              " (run `wscp-agent release` or `resume --pending` on the source)");
  }
  return report;
}

}  // namespace wscp::migration
