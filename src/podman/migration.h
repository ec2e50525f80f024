#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "podman/archive_spool.h"
#include "podman/engine.h"

namespace wscp::podman {

struct MigrationRequest {
  std::string workspace;  // container name/id or workspace id on the source
  CheckpointOptions checkpoint;  // leave_running is refused: see migrate()
  RestoreOptions restore;
  // Bringing the workspace back on the source after a failed step has its
  // own cancellation: cancelling the migration (which may be why it failed)
  // does not stop it. Nobody cancels it unless one is given here.
  std::shared_ptr<CancelToken> recovery_cancel = nullptr;
};

enum class MigrationOutcome {
  kMigrated,      // running (settled) on the destination; the source copy is removed
  kKeptOnSource,  // a step failed (see failure); running on the source again
  kStopped,       // running nowhere as far as is known; failure says why and where the copies are
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
// Refused before anything happens (an Error: the workspace was not
// touched): what the source cannot checkpoint, what the destination's
// pre-flight refuses, and leaveRunning, which would leave the source
// running on and so lose whatever it does after the dump (it is for
// checkpoints kept for later, without a destination).
//
// Never loses the workspace: it is checkpointed with keep=true, so if the
// archive cannot be completed, the image cannot be shipped, or the
// destination restore fails or does not settle (which leaves nothing
// behind there), the workspace is restored on the source: in place from
// Podman's kept checkpoint (retried on transient errors), or else from the
// archive beside the stopped container, which is removed only once that
// copy runs. The source copy is removed only after the destination's copy
// has settled. Should every way back fail, the outcome is kStopped and the
// failure says where the archive and the stopped container are; so it is
// too when the destination's Podman could not tell whether its restore
// went through (the source is then not resumed, as that could make two).
Result<MigrationResult> migrate(Engine& source, Engine& destination, ArchiveSpool& spool,
                                const MigrationRequest& request, const OperationContext& ctx);

// Keys of a workspace's objects in a spool.
std::string container_archive_key(const ContainerInfo& facts);
std::string image_archive_key(const ContainerInfo& facts);

// Copies the image of `facts` from source to destination through the spool,
// unless the destination has it. Returns whether it shipped. The spool's
// copy is shared: written once (create-if-absent; a copy another node wrote
// is reused), and when it does not verify, the image goes through a copy of
// this migration's own. A load that brings names other than the image's is
// refused (kIntegrity) and undone: what it added is removed and names it
// moved are put back.
Result<bool> ship_image(Engine& source, Engine& destination, ArchiveSpool& spool, const ContainerInfo& facts,
                        const OperationContext& ctx);

}  // namespace wscp::podman
