#pragma once

#include "agent/api/router.h"
#include "agent/evacuation/evacuator.h"

namespace wscp::agent::api {

// GET /v1/evacuation: 200 with the evacuation a termination notice started
// (the same JSON as the Lease's wscp.dev/evacuation annotation), or 404
// when there is none.
void add_evacuation_routes(Router& router, const evacuation::Evacuator& evacuator);

}  // namespace wscp::agent::api
