#include "agent/api/workspace_routes.h"

#include <set>

namespace wscp::agent::api {

using nlohmann::json;

void add_workspace_routes(Router& router, inventory::NodeInventory& inventory, operations::PhaseRunner& runner) {
  router.add("GET", "/v1/workspaces", [&inventory](const Request&) {
    auto ws = inventory.workspaces();
    if (!ws) return Response::from_error(ws.error());
    auto cap = inventory.capacity();
    if (!cap) return Response::from_error(cap.error());
    json items = json::array();
    for (const auto& w : *ws) items.push_back(inventory::to_json(w));
    return Response::json(200, {{"workspaces", items}, {"capacity", inventory::to_json(*cap)}});
  });
  router.add("POST", "/v1/preflight", [&runner](const Request& r) {
    auto body = r.json_body();
    if (!body) return Response::from_error(body.error());
    if (!body->is_object()) return Response::error(400, "invalid_request", "the body must be a JSON object");
    static const std::set<std::string> known{"plan", "workspaceId", "checkpointId", "store"};
    for (const auto& [key, value] : body->items()) {
      if (!known.contains(key)) return Response::error(400, "invalid_request", key + " is not a known field");
      if (key == "plan" ? !value.is_object() : !value.is_string())
        return Response::error(400, "invalid_request",
                               key + (key == "plan" ? " must be a JSON object" : " must be a string"));
    }
    operations::PreflightRequest p;
    if (body->contains("plan")) p.plan = body->at("plan");
    p.workspace_id = body->value("workspaceId", "");
    p.checkpoint_id = body->value("checkpointId", "");
    p.store = body->value("store", "");
    if (p.plan.has_value() == !(p.workspace_id.empty() && p.checkpoint_id.empty()))
      return Response::error(400, "invalid_request",
                             "give either plan (the plan document) or workspaceId and checkpointId, not both");
    if (!p.plan && (p.workspace_id.empty() || p.checkpoint_id.empty()))
      return Response::error(400, "invalid_request", "workspaceId and checkpointId are both required");
    if (auto s = runner.preflight(p); !s) return Response::from_error(s.error());
    return Response::json(200, {{"canRestore", true}});
  });
}

}  // namespace wscp::agent::api
