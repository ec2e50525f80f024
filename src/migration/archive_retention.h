#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "migration/node_services.h"

namespace wscp::migration {

// What deleting one checkpoint removed.
struct DeletedCheckpoint {
  std::uint64_t objects = 0;  // archives, segments, plan, claim and manifest
  std::uint64_t bytes = 0;
};

// Deletes a checkpoint's objects once they are nobody's only copy of the
// workspace: its claim is final (restored on a destination, or resumed on
// its source), or it was never sealed and nobody claims it (nothing can
// restore it; its source resumes from what Podman kept). Refused
// (kConflict, saying what to do) while the workspace may still need it: a
// sealed checkpoint of a stopped workspace, a restore or resume in flight
// (a cut-through restore claims a checkpoint before its seal), or a
// migration whose source still holds the workspace lock for it (being
// written, or its release or resume not finished: recovery reads it). A
// checkpoint already gone deletes nothing and succeeds. The check and the
// removal are not one atomic step: run it once the operations on the
// checkpoint have ended, as the controller does.
Result<DeletedCheckpoint> delete_checkpoint_archives(NodeServices& node, const std::string& workspace_id,
                                                     const std::string& checkpoint_id, const OperationContext& ctx);

struct ImageCollection {
  std::vector<std::string> removed;  // image ids
  std::size_t kept = 0;  // referenced, younger than the grace, or stored again since listed
};

// Removes the stored images that no sealed checkpoint's manifest names and
// that were stored more than `grace` ago by the store's clock (a checkpoint
// being written has stored its images but not yet its manifest: the grace
// must outlast the longest checkpoint). A manifest that cannot be read
// (another keyring, damage) could name any image: then nothing is removed
// and the error says which.
Result<ImageCollection> collect_unreferenced_images(NodeServices& node, std::chrono::seconds grace,
                                                    const OperationContext& ctx);

// A deletion, then (when asked) a collection of the images it may have
// freed. A collection that fails does not fail the deletion, which has
// happened: it is reported beside it.
struct CheckpointDeletion {
  DeletedCheckpoint deleted;
  std::optional<ImageCollection> images;  // nullopt: not collected (not asked, or failed)
  std::optional<Error> collection_failed;

  // "deleted checkpoint c of workspace w (n objects, b bytes); images: ..."
  std::string describe(const std::string& workspace_id, const std::string& checkpoint_id) const;
};

// `collect_with_grace` is asked once the checkpoint is gone (a refused
// deletion collects nothing): the grace to collect images with, or nullopt
// to collect none this time.
Result<CheckpointDeletion> delete_checkpoint(NodeServices& node, const std::string& workspace_id,
                                             const std::string& checkpoint_id,
                                             const std::function<std::optional<std::chrono::seconds>()>& collect_with_grace,
                                             const OperationContext& ctx);

}  // namespace wscp::migration
