#pragma once

#include <string>
#include <vector>

#include "migration/node_services.h"

namespace wscp::migration {

// Source, after the destination settled (the claim says restored): removes
// the stopped source containers, with the checkpoints Podman kept, and
// frees the workspace lock. Refused while the claim says anything else.
// Idempotent.
Status release_source(NodeServices& node, const std::string& workspace_id, const std::string& checkpoint_id,
                      const OperationContext& ctx);

// Source, when the destination could not restore (or before the seal):
// takes the resume claim (refused if a restore holds it), brings every
// container back (see bring_back_on_source), marks the claim resumed and
// frees the lock. Idempotent.
Result<std::vector<podman::Workspace>> resume_source(NodeServices& node, const std::string& workspace_id,
                                                     const std::string& checkpoint_id, const OperationContext& ctx);

}  // namespace wscp::migration
