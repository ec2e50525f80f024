#include "agent/api/evacuation_routes.h"

namespace wscp::agent::api {

void add_evacuation_routes(Router& router, const evacuation::Evacuator& evacuator) {
  router.add("GET", "/v1/evacuation", [&evacuator](const Request&) {
    auto e = evacuator.current();
    if (!e) return Response::error(404, "not_found", "no termination notice has started an evacuation on this node");
    return Response::json(200, evacuation::to_json(*e));
  });
}

}  // namespace wscp::agent::api
