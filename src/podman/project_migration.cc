#include "podman/project_migration.h"

namespace wscp::podman {

Result<ProjectMigrationResult> migrate_project(Engine& source, Engine& destination, ArchiveSpool& spool,
                                               const std::string& project, const CheckpointOptions& options,
                                               const OperationContext& ctx) {
  auto caps = destination.capabilities();
  if (!caps.ok()) return caps.error().wrap("destination");
  if (!caps->checkpoint) return Error(ErrorCode::kUnsupported, "destination: " + caps->why_not);

  auto checkpoint = checkpoint_project(source, spool, project, options, ctx);
  if (!checkpoint.ok()) return checkpoint.error();  // the services run on, as before
  ProjectMigrationResult result;
  result.checkpoint = std::move(*checkpoint);

  auto resume_on_source = [&](const Error& why) -> Result<ProjectMigrationResult> {
    std::string failed;
    for (const auto& s : result.checkpoint.services) {
      auto back = source.restore_in_place(s.facts, result.checkpoint.restore_options());
      if (!back.ok()) failed += " " + s.service + ": " + back.error().message();
    }
    if (!failed.empty()) {
      result.outcome = MigrationOutcome::kStopped;
      result.failure = Error(ErrorCode::kRestoreFailed, why.message() + "; resuming on the source failed for" + failed +
                                                            "; the archives are under " + spool.describe("projects/" + project));
      return result;
    }
    result.outcome = MigrationOutcome::kKeptOnSource;
    result.failure = why;
    return result;
  };

  for (const auto& s : result.checkpoint.services) {
    auto shipped = ship_image(source, destination, spool, s.facts, ctx);
    if (!shipped.ok()) return resume_on_source(shipped.error().wrap("shipping image " + s.facts.image_name));
    if (*shipped) result.images_shipped.push_back(s.facts.image_name);
  }
  auto restored = restore_project(destination, spool, result.checkpoint, ctx);
  if (!restored.ok()) return resume_on_source(restored.error());
  result.restored = std::move(*restored);
  for (const auto& s : result.checkpoint.services) (void)source.client().remove_container(s.facts.id, true);
  return result;
}

}  // namespace wscp::podman
