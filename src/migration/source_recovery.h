#pragma once

#include <optional>
#include <vector>

#include "migration/node_services.h"
#include "migration/plan.h"
#include "store/manifest.h"

namespace wscp::migration {

// Brings every container of a plan back to running on the source: a
// container still running is left alone; a checkpointed one is restored in
// place from the checkpoint Podman kept (transient failures retried); only
// if that fails, and a sealed manifest names an archive, is it restored from
// the archive, beside the stopped container, which is removed only once the
// new copy has settled (Engine::restore_replacing). Returns the running workspaces; the
// error names every container that could not be brought back.
Result<std::vector<podman::Workspace>> bring_back_on_source(NodeServices& node, const Plan& plan,
                                                            const std::optional<store::Manifest>& manifest,
                                                            const OperationContext& ctx);

}  // namespace wscp::migration
