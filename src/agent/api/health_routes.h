#pragma once

#include <functional>

#include "agent/api/router.h"
#include "common/result.h"

namespace wscp::agent::api {

// GET /healthz: 200 {"status": "ok"} while the agent answers at all.
// GET /readyz: 200 {"status": "ready"} when `ready` succeeds, else 503 with
// its error (e.g. Podman unreachable, no checkpoint support).
void add_health_routes(Router& router, std::function<Status()> ready);

}  // namespace wscp::agent::api
