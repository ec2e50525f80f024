#include "migration/migrate_flow.h"

#include "migration/source_phases.h"
#include "podman/project.h"
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

// Where each container of the plan runs after a failed migration.
void account(NodeServices& source, NodeServices& destination, MigrationReport& report) {
  const Plan& plan = report.plan;
  for (const auto& c : plan.containers) {
    auto here = source.engine.client().inspect_container(c.name);
    const bool on_source = here && here->running();
    std::string there_name = c.name;
    if (plan.restore.name && c.name == plan.primary) there_name = *plan.restore.name;
    auto there = destination.engine.client().inspect_container(there_name);
    const bool on_destination = there && there->running();
    // Podman unreachable is not "not running": nobody knows.
    const bool known = (here || here.error().code() == ErrorCode::kNotFound) &&
                       (there || there.error().code() == ErrorCode::kNotFound);
    if (!known) {
      report.unknown.push_back(c.name);
    } else if (on_destination && on_source) {
      report.on_both.push_back(c.name);
    } else if (on_destination) {
      report.on_destination_only.push_back(there_name);
    } else if (!on_source) {
      report.not_running.push_back(c.name);
    }
  }
  if (report.outcome == Outcome::kKeptOnSource &&
      (!report.on_destination_only.empty() || !report.not_running.empty() || !report.on_both.empty() ||
       !report.unknown.empty())) {
    report.outcome = Outcome::kStopped;
  }
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
    (void)source.journal.finish(plan->workspace_id, plan->checkpoint_id, Phase::kCheckpoint);
    return st.error().wrap("the destination refused before the checkpoint; the workspace was not touched");
  }

  auto sealed = checkpoint_workspace(source, *plan, ctx);
  if (!sealed) {
    // The checkpoint phase resumed the workspace itself (before the seal).
    report.failure = sealed.error();
    report.running = running_on(source, *plan);
    report.outcome = report.running.empty() ? Outcome::kStopped : Outcome::kKeptOnSource;
    account(source, destination, report);
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
      account(source, destination, report);
      return report;
    }
    report.running = std::move(*back);
    report.outcome = Outcome::kKeptOnSource;
    account(source, destination, report);
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
