#include "agent/api/health_routes.h"

namespace wscp::agent::api {

void add_health_routes(Router& router, std::function<Status()> ready) {
  router.add("GET", "/healthz", [](const Request&) { return Response::json(200, {{"status", "ok"}}); });
  router.add("GET", "/readyz", [ready = std::move(ready)](const Request&) {
    Status s = ready ? ready() : Status(Ok{});
    if (s) return Response::json(200, {{"status", "ready"}});
    return Response::error(503, "not_ready", s.error().describe());
  });
}

}  // namespace wscp::agent::api
