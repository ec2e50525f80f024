#include "controller/evacuation_plan.h"

#include <cctype>

#include "store/crypto.h"

namespace wscp::controller {

namespace {

// Lower-case letters, digits and '-', no leading or trailing '-', at most `max`.
std::string name_part(const std::string& text, std::size_t max) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) out += static_cast<char>(std::tolower(u));
    else if (!out.empty() && out.back() != '-') out += '-';
    if (out.size() >= max) break;
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "x" : out;
}

}  // namespace

std::string evacuation_name(const std::string& node, const std::string& node_uid, const std::string& workspace) {
  const std::string hash = store::sha256_hex(node + "\n" + node_uid + "\n" + workspace).substr(0, 8);
  return "evac-" + name_part(node, 100) + "-" + name_part(workspace, 100) + "-" + hash;
}

EvacuationPlan plan_evacuation(const EvacuationInput& input, const TenancyPolicy& tenancy) {
  EvacuationPlan plan;
  for (const auto& w : input.workspaces) {
    const bool agent_made =
        input.agent_evacuation && input.agent_evacuation->adoptable(w.id, w.running) != nullptr;
    if (!w.running && !agent_made) {
      plan.skipped.push_back("workspace " + w.id + ": not running");
      continue;
    }
    auto ns = workspace_namespace(w, tenancy);
    if (!ns) {
      plan.skipped.push_back("workspace " + w.id + ": " + ns.error().message());
      continue;
    }
    nlohmann::json workspace = {{"node", input.node}};
    if (!w.project.empty()) workspace["composeProject"] = w.project;
    else workspace["workspaceId"] = w.id;
    nlohmann::json spec = {{"workspace", workspace},
                           {"destination", nlohmann::json::object()},
                           {"reason", std::string(kube::to_string(input.why.reason))}};
    if (input.deadline) spec["deadline"] = kube::format_rfc3339(*input.deadline);
    // The agent's checkpoint is restored from where the agent wrote it.
    const std::string store = agent_made ? input.agent_evacuation->store() : input.store.value_or("");
    if (!store.empty()) spec["store"] = store;
    plan.create.push_back({{"apiVersion", std::string(kube::kWorkspaceCheckpointApiVersion)},
                           {"kind", std::string(kube::kWorkspaceCheckpointKind)},
                           {"metadata",
                            {{"name", evacuation_name(input.node, input.node_uid, w.id)},
                             {"namespace", *ns},
                             {"labels", {{std::string(kEvacuatedNodeLabel), name_part(input.node, 63)}}},
                             {"annotations", {{"wscp.dev/evacuation-reason", input.why.detail}}}}},
                           {"spec", spec}});
  }
  return plan;
}

std::optional<Evacuation> evacuation_for_notice(const std::optional<NoticeInfo>& notice, WallTime now) {
  if (!notice || notice->kind == "rebalance") return std::nullopt;
  if (notice->deadline && now > *notice->deadline + kNoticeOutlivedAfter) return std::nullopt;
  std::string what = notice->provider.empty() ? "a" : notice->provider;
  if (!notice->action.empty()) what += " " + notice->action;
  return Evacuation{kube::CheckpointReason::kSpotInterruption, "its agent reports a termination notice (" + what + ")"};
}

}  // namespace wscp::controller
