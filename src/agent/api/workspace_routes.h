#pragma once

#include "agent/api/router.h"
#include "agent/inventory/inventory.h"
#include "agent/operations/phase_runner.h"

namespace wscp::agent::api {

// GET  /v1/workspaces  {"workspaces": [...], "capacity": {...}}; 503 when
//                      Podman cannot be reached
// POST /v1/preflight   {"plan": {...}} or {"workspaceId", "checkpointId",
//                      "store"}: 200 {"canRestore": true}, or the refusal
//                      with its status (422 unsupported, 409 conflict, ...)
void add_workspace_routes(Router& router, inventory::NodeInventory& inventory, operations::PhaseRunner& runner);

}  // namespace wscp::agent::api
