#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "migration/node_services.h"
#include "store/segment_reader.h"

namespace wscp::migration {

struct Restored {
  std::vector<podman::Workspace> containers;  // in plan order
  std::string primary;                         // the workspace's primary container
  std::vector<std::string> images_loaded;
  std::chrono::milliseconds duration{0};
  std::uint64_t archive_bytes = 0;  // the containers' archives (as Podman wrote them)
  bool cut_through = false;         // began before the checkpoint was sealed
};

// How a restore may begin while the source is still writing the checkpoint
// (cut-through): it waits for the plan, each image and archive segment as
// it appears, then for the manifest as long as the checkpoint keeps growing
// (a project's later services are still being dumped then).
struct CutThrough {
  store::FollowOptions follow;  // poll interval; how long the next part may take to appear
};

// Destination: reads the sealed checkpoint (manifest and plan, both
// authenticated and bound together), pre-flights it, takes the restore
// claim, loads each image it lacks, restores every container through a
// verified stream and waits for each to settle; then marks the claim
// restored. A failure removes whatever this attempt made and abandons the
// claim, so the source may resume. Journalled; a repeat after a crash
// finishes or undoes the attempt.
//
// With `cut_through`, a checkpoint whose plan exists but that is not sealed
// yet is restored as it is written: the claim is taken first (the source
// seals a checkpoint only while nobody else holds its claim, or the one
// restoring it does), images are loaded as soon as the source stored them,
// and each archive is fed to Podman as its segments appear, each verified;
// the last bytes of each archive reach Podman only once the sealed manifest
// names that very writing (until then Podman holds an incomplete archive
// and restores nothing). A source that stops writing fails the restore,
// which removes what it made and abandons the claim.
Result<Restored> restore_workspace(NodeServices& node, const std::string& workspace_id,
                                   const std::string& checkpoint_id, const OperationContext& ctx,
                                   const std::optional<CutThrough>& cut_through = std::nullopt);

// What a restore that died left: settled containers are kept (and the claim
// marked restored); anything half-made is removed and the claim abandoned.
Result<Restored> finish_interrupted_restore(NodeServices& node, const std::string& workspace_id,
                                            const std::string& checkpoint_id, const OperationContext& ctx);

}  // namespace wscp::migration
