#pragma once

#include "podman/migration.h"
#include "podman/project.h"

namespace wscp::podman {

struct ProjectMigrationResult {
  MigrationOutcome outcome = MigrationOutcome::kMigrated;
  ProjectCheckpoint checkpoint;
  ProjectRestore restored;  // on the destination, when migrated
  std::vector<std::string> images_shipped;
  std::optional<Error> failure;  // why the project is not (all) on the destination
  // When the outcome is not kMigrated: services (by container name) left
  // on the destination only, because undoing their restore there failed and
  // they run there (or their state there cannot be read); they are not
  // resumed on the source, which could run them twice. And services that
  // run nowhere. With either, the outcome is kStopped: the project is not
  // whole anywhere.
  std::vector<std::string> on_destination_only;
  std::vector<std::string> not_running;
  std::vector<std::string> warnings;  // e.g. a source copy that could not be removed
};

// Moves a whole compose project. Refused before any service is frozen:
// leaveRunning, what the source cannot export (see plan_project), and what
// the destination's pre-flight of any service refuses. Any failure after
// the dumps (image shipping, a service that will not restore or settle)
// leaves nothing on the destination and resumes every service on the
// source; what could not be undone is reported as it is.
Result<ProjectMigrationResult> migrate_project(Engine& source, Engine& destination, ArchiveSpool& spool,
                                               const std::string& project, const CheckpointOptions& options,
                                               const OperationContext& ctx);

}  // namespace wscp::podman
