#include "podman/project_migration.h"

#include <algorithm>

namespace wscp::podman {
namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

}  // namespace

Result<ProjectMigrationResult> migrate_project(Engine& source, Engine& destination, ArchiveSpool& spool,
                                               const std::string& project, const CheckpointOptions& options,
                                               const OperationContext& ctx) {
  if (options.leave_running) {
    return Error(ErrorCode::kInvalidArgument,
                 "leaveRunning cannot be used to migrate: the services would keep running on the source and "
                 "whatever they do after the dump would be lost; the project was not touched");
  }
  auto caps = destination.capabilities();
  if (!caps.ok()) return caps.error().wrap("destination");
  if (!caps->checkpoint) return Error(ErrorCode::kUnsupported, "destination: " + caps->why_not);

  // Every service is checked on both sides before the first freeze.
  auto plan = plan_project(source, project, options);
  if (!plan.ok()) return plan.error();
  for (const auto& s : plan->services) {
    if (auto st = destination.preflight(s.facts, plan->restore_options(), /*check_image=*/false); !st.ok()) {
      return st.error().wrap("service " + s.service + ": destination refused before the checkpoint; the project "
                             "was not touched");
    }
  }

  auto checkpoint = dump_project(source, spool, std::move(*plan), options, ctx);
  if (!checkpoint.ok()) return checkpoint.error();  // the services run on, as before
  ProjectMigrationResult result;
  result.checkpoint = std::move(*checkpoint);
  const RestoreOptions back = result.checkpoint.restore_options();

  // Resumes on the source every service that does not run on the
  // destination, and says truthfully where each one is.
  auto resume_on_source = [&](const Error& why, const std::vector<std::string>& left_on_destination) {
    std::string failed;
    for (const auto& s : result.checkpoint.services) {
      if (std::find(left_on_destination.begin(), left_on_destination.end(), s.facts.name) !=
          left_on_destination.end()) {
        auto there = destination.client().inspect_container(s.facts.name);
        if (!there.ok() || there->running()) {
          // Running there (or unknown): resuming it here could run it twice.
          result.on_destination_only.push_back(s.facts.name);
          continue;
        }
      }
      auto resumed = source.restore_in_place(s.facts, back);
      if (!resumed.ok()) {
        result.not_running.push_back(s.facts.name);
        failed += "; " + s.facts.name + ": " + resumed.error().message();
      }
    }
    if (result.on_destination_only.empty() && result.not_running.empty()) {
      result.outcome = MigrationOutcome::kKeptOnSource;
      result.failure = why;
      return result;
    }
    std::string where = why.message();
    if (!result.on_destination_only.empty()) {
      where += "; on the destination only (they run there, or their state there cannot be read, and could not be "
               "removed; they were not resumed on the source, so as not to run twice): " +
               joined(result.on_destination_only);
    }
    if (!result.not_running.empty()) {
      where += "; NOT RUNNING anywhere (resuming on the source failed): " + joined(result.not_running) + failed +
               "; their archives are under " + spool.describe("projects/" + project);
    }
    result.outcome = MigrationOutcome::kStopped;
    result.failure = Error(ErrorCode::kRestoreFailed, where);
    return result;
  };

  for (const auto& s : result.checkpoint.services) {
    auto shipped = ship_image(source, destination, spool, s.facts, ctx);
    if (!shipped.ok()) return resume_on_source(shipped.error().wrap("shipping image " + s.facts.image_name), {});
    if (*shipped) result.images_shipped.push_back(s.facts.image_name);
  }
  std::vector<std::string> may_remain;
  auto restored = restore_project(destination, spool, result.checkpoint, ctx, &may_remain);
  if (!restored.ok()) return resume_on_source(restored.error(), may_remain);
  result.restored = std::move(*restored);
  for (const auto& s : result.checkpoint.services) {
    if (auto st = source.client().remove_container(s.facts.id, true); !st.ok()) {
      result.warnings.push_back("the checkpointed copy of " + s.facts.name +
                                " on the source could not be removed: " + st.error().message());
    }
  }
  return result;
}

}  // namespace wscp::podman
