#include "agent/api/operation_routes.h"

namespace wscp::agent::api {

using nlohmann::json;

void add_operation_routes(Router& router, operations::OperationManager& manager) {
  router.add("POST", "/v1/operations", [&manager](const Request& r) {
    auto body = r.json_body();
    if (!body) return Response::from_error(body.error());
    if (!body->is_object()) return Response::error(400, "invalid_request", "the body must be a JSON object");
    auto id = body->find("id");
    if (id == body->end() || !id->is_string())
      return Response::error(400, "invalid_request", "id (a string chosen by the caller) is required");
    json rest = *body;
    rest.erase("id");
    auto request = operations::request_from_json(rest);
    if (!request) return Response::error(400, "invalid_request", request.error().message());
    auto started = manager.start(id->get<std::string>(), *request);
    if (!started) return Response::from_error(started.error());
    return Response::json(started->created ? 202 : 200, operations::to_json(started->operation));
  });
  router.add("GET", "/v1/operations", [&manager](const Request&) {
    json items = json::array();
    for (const auto& op : manager.list()) items.push_back(operations::to_json(op));
    return Response::json(200, {{"operations", items}});
  });
  router.add("GET", "/v1/operations/{id}", [&manager](const Request& r) {
    auto op = manager.get(r.params.at("id"));
    if (!op) return Response::from_error(op.error());
    return Response::json(200, operations::to_json(*op));
  });
  router.add("DELETE", "/v1/operations/{id}", [&manager](const Request& r) {
    auto op = manager.cancel(r.params.at("id"));
    if (!op) return Response::from_error(op.error());
    return Response::json(operations::finished(op->state) ? 200 : 202, operations::to_json(*op));
  });
}

}  // namespace wscp::agent::api
