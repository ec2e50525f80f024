#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "migration/node_services.h"

namespace wscp::migration {

struct Restored {
  std::vector<podman::Workspace> containers;  // in plan order
  std::string primary;                         // the workspace's primary container
  std::vector<std::string> images_loaded;
  std::chrono::milliseconds duration{0};
};

// Destination: reads the sealed checkpoint (manifest and plan, both
// authenticated and bound together), pre-flights it, takes the restore
// claim, loads each image it lacks, restores every container through a
// verified stream and waits for each to settle; then marks the claim
// restored. A failure removes whatever this attempt made and abandons the
// claim, so the source may resume. Journalled; a repeat after a crash
// finishes or undoes the attempt.
Result<Restored> restore_workspace(NodeServices& node, const std::string& workspace_id,
                                   const std::string& checkpoint_id, const OperationContext& ctx);

// What a restore that died left: settled containers are kept (and the claim
// marked restored); anything half-made is removed and the claim abandoned.
Result<Restored> finish_interrupted_restore(NodeServices& node, const std::string& workspace_id,
                                            const std::string& checkpoint_id, const OperationContext& ctx);

}  // namespace wscp::migration
