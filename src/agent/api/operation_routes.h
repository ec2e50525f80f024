#pragma once

#include "agent/api/router.h"
#include "agent/operations/operation_manager.h"

namespace wscp::agent::api {

// POST   /v1/operations       {"id": ..., "kind": ..., ...}: 202 with the new
//                             operation; 200 with the same one when the id is
//                             known with the same request; 409 when it is
//                             known with another; 400 naming a bad field.
// GET    /v1/operations       every operation this node knows
// GET    /v1/operations/{id}  one operation; 404 when unknown
// DELETE /v1/operations/{id}  asks it to stop: 202 (200 when already finished)
void add_operation_routes(Router& router, operations::OperationManager& manager);

}  // namespace wscp::agent::api
