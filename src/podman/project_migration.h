#pragma once

#include "podman/migration.h"
#include "podman/project.h"

namespace wscp::podman {

struct ProjectMigrationResult {
  MigrationOutcome outcome = MigrationOutcome::kMigrated;
  ProjectCheckpoint checkpoint;
  ProjectRestore restored;  // on the destination, when migrated
  std::vector<std::string> images_shipped;
  std::optional<Error> failure;  // why the project stayed on the source
};

// Moves a whole compose project. Any failure after the dumps (image
// shipping, a service that will not restore) leaves nothing on the
// destination and resumes every service on the source.
Result<ProjectMigrationResult> migrate_project(Engine& source, Engine& destination, ArchiveSpool& spool,
                                               const std::string& project, const CheckpointOptions& options,
                                               const OperationContext& ctx);

}  // namespace wscp::podman
