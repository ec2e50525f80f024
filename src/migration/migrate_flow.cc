#include "migration/migrate_flow.h"

#include <future>

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

// A context of its own (so one side can be cancelled alone) reporting where
// the caller's does.
OperationContext child_of(const OperationContext& ctx) {
  OperationContext child;
  child.operation_id = ctx.operation_id;
  child.on_progress = ctx.on_progress;
  return child;
}

struct Legs {
  Result<Sealed> sealed = Error(ErrorCode::kInternal, "the checkpoint did not run");
  Result<Restored> restored = Error(ErrorCode::kInternal, "the restore did not run");
  bool restore_ran = false;
};

// Which failure to report when both legs failed: a checkpoint stopped by the
// restore's failure (cancelled, or refused the seal of a claim given up)
// only echoes it, and so does a restore cancelled by the checkpoint's.
bool restore_failure_is_the_cause(const Legs& legs) {
  if (legs.sealed) return true;
  const ErrorCode checkpoint = legs.sealed.error().code();
  return legs.restore_ran && legs.restored.error().code() != ErrorCode::kCancelled &&
         (checkpoint == ErrorCode::kCancelled || checkpoint == ErrorCode::kConflict);
}

// Checkpoint and restore side by side; whichever fails first cancels the
// other (a restore cancelled before the seal makes nothing and abandons its
// claim; a checkpoint cancelled before the seal resumes the workspace).
Legs run_cut_through(NodeServices& source, NodeServices& destination, const Plan& plan, const OperationContext& ctx,
                     const MigrateOptions& options) {
  OperationContext source_ctx = child_of(ctx), destination_ctx = child_of(ctx);
  // A leg that throws stops the other before the exception is passed on
  // (a future's destructor would otherwise wait for the other leg's end).
  auto guarded = [](auto leg, CancelToken& other) {
    return [leg, &other]() {
      try {
        return leg();
      } catch (...) {
        other.cancel();
        throw;
      }
    };
  };
  auto checkpoint = std::async(std::launch::async, guarded([&] { return checkpoint_workspace(source, plan, source_ctx); },
                                                           *destination_ctx.cancel));
  auto restore = std::async(std::launch::async, guarded([&] {
    return restore_workspace(destination, plan.workspace_id, plan.checkpoint_id, destination_ctx, options.follow);
  }, *source_ctx.cancel));
  Legs legs;
  legs.restore_ran = true;
  bool checkpoint_done = false, restore_done = false;
  while (!checkpoint_done || !restore_done) {
    if (ctx.cancelled()) {
      source_ctx.cancel->cancel();
      destination_ctx.cancel->cancel();
    }
    if (!checkpoint_done && checkpoint.wait_for(std::chrono::milliseconds(50)) == std::future_status::ready) {
      checkpoint_done = true;
      legs.sealed = checkpoint.get();
      // Sealed but not journalled is sealed: the restore goes on.
      if (!legs.sealed && !read_sealed(source, plan)) destination_ctx.cancel->cancel();
    }
    if (!restore_done && restore.wait_for(std::chrono::milliseconds(checkpoint_done ? 50 : 0)) ==
                             std::future_status::ready) {
      restore_done = true;
      legs.restored = restore.get();
      if (!legs.restored) source_ctx.cancel->cancel();
    }
  }
  return legs;
}

Legs run_one_after_the_other(NodeServices& source, NodeServices& destination, const Plan& plan,
                             const OperationContext& ctx) {
  Legs legs;
  legs.sealed = checkpoint_workspace(source, plan, ctx);
  if (legs.sealed) {
    legs.restore_ran = true;
    legs.restored = restore_workspace(destination, plan.workspace_id, plan.checkpoint_id, ctx);
  }
  return legs;
}

// After a failed leg: brings the workspace back on the source and accounts
// for where everything runs. The checkpoint phase may have resumed it
// already (then this repeats nothing), or been refused while a cut-through
// restore still held the claim, which that restore has given up since.
MigrationReport keep_on_source(NodeServices& source, NodeServices& destination, MigrationReport report) {
  const Plan& plan = report.plan;
  auto back = resume_source(source, plan.workspace_id, plan.checkpoint_id, OperationContext{});
  if (back) {
    report.running = std::move(*back);
  } else {
    report.running = running_on(source, plan);
    if (report.running.empty()) {
      report.failure = Error(back.error().code(), report.failure->message() + "; resuming on the source failed too (" +
                                                      back.error().message() + ")");
    }
  }
  report.outcome = report.running.empty() ? Outcome::kStopped : Outcome::kKeptOnSource;
  account(source, destination, report);
  return report;
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
                                          const OperationContext& ctx, const MigrateOptions& options) {
  auto plan = make_plan(source, request);
  if (!plan) return plan.error();
  MigrationReport report;
  report.plan = *plan;
  if (auto st = preflight_plan(destination.engine, *plan); !st) {
    (void)WorkspaceLock(source.documents, source.verify_keys(), plan->workspace_id).release(source.node, plan->checkpoint_id);
    (void)source.journal.finish(plan->workspace_id, plan->checkpoint_id, Phase::kCheckpoint);
    return st.error().wrap("the destination refused before the checkpoint; the workspace was not touched");
  }

  const auto started = source.clock.now();
  Legs legs = options.cut_through ? run_cut_through(source, destination, *plan, ctx, options)
                                  : run_one_after_the_other(source, destination, *plan, ctx);
  if (legs.sealed) {
    report.checkpoint_duration = legs.sealed->duration;
    report.sealed = std::move(*legs.sealed);
  }
  if (!legs.restored) {
    if (restore_failure_is_the_cause(legs)) {
      report.failure = legs.restored.error().wrap("restore on the destination");
      if (!legs.sealed) report.warnings.push_back("the checkpoint stopped: " + legs.sealed.error().message());
    } else {
      report.failure = legs.sealed.error();
      if (legs.restore_ran && legs.restored.error().code() != ErrorCode::kCancelled) {
        report.warnings.push_back("the destination's restore stopped too: " + legs.restored.error().message());
      }
    }
    return keep_on_source(source, destination, std::move(report));
  }
  // A restore completes only from a sealed checkpoint that binds the plan.
  if (!legs.sealed) report.warnings.push_back("the checkpoint phase reported: " + legs.sealed.error().message());
  report.restore_duration = legs.restored->duration;
  report.move_duration = std::chrono::duration_cast<std::chrono::milliseconds>(source.clock.now() - started);
  report.cut_through = legs.restored->cut_through;
  report.running = legs.restored->containers;
  report.restored = std::move(*legs.restored);
  if (auto st = release_source(source, plan->workspace_id, plan->checkpoint_id, ctx); !st) {
    report.warnings.push_back("the checkpointed copy on the source could not be released: " + st.error().message() +
                              " (run `wscp-agent release` or `resume --pending` on the source)");
  }
  return report;
}

}  // namespace wscp::migration
