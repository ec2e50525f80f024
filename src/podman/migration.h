#pragma once

#include <optional>
#include <string>
#include <vector>

#include "podman/archive_spool.h"
#include "podman/engine.h"

namespace wscp::podman {

struct MigrationRequest {
  std::string workspace;  // container name/id or workspace id on the source
  CheckpointOptions checkpoint;
  RestoreOptions restore;
};

enum class MigrationOutcome {
  kMigrated,      // running on the destination; the source copy is removed
  kKeptOnSource,  // a step failed (see failure); running on the source again
  kStopped,       // every way back failed: running nowhere; failure says where the archive is
};

struct MigrationResult {
  MigrationOutcome outcome = MigrationOutcome::kMigrated;
  Workspace workspace;  // where it runs now (unless kStopped)
  CheckpointResult checkpoint;
  bool image_shipped = false;
  std::chrono::milliseconds restore_duration{0};
  std::optional<Error> failure;  // why it stayed on the source
  std::vector<std::string> warnings;       // e.g. the source copy could not be removed
};

// Moves one workspace from source to destination through the spool.
//
// Never loses the workspace: it is checkpointed with keep=true, so if the
// archive cannot be completed, the image cannot be shipped, or the
// destination restore fails (which leaves nothing behind there), the
// workspace is restored on the source — in place from Podman's kept
// checkpoint, or else from the archive — and the outcome says so. Should
// that fail too, the outcome is kStopped and the failure says where the
// archive is. An Error means the workspace was not touched.
Result<MigrationResult> migrate(Engine& source, Engine& destination, ArchiveSpool& spool,
                                const MigrationRequest& request, const OperationContext& ctx);

// Keys of a workspace's objects in a spool.
std::string container_archive_key(const ContainerInfo& facts);
std::string image_archive_key(const ContainerInfo& facts);

// Copies the image of `facts` from source to destination through the spool,
// unless the destination has it. Returns whether it shipped.
Result<bool> ship_image(Engine& source, Engine& destination, ArchiveSpool& spool, const ContainerInfo& facts,
                        const OperationContext& ctx);

}  // namespace wscp::podman
