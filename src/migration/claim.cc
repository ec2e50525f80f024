#include "migration/claim.h"

#include <nlohmann/json.hpp>

#include "common/time_format.h"
#include "migration/signed_document.h"
#include "store/layout.h"

namespace wscp::migration {
namespace {

using nlohmann::json;
constexpr std::string_view kKind = "claim v1";

std::string describe(const Claim& c) {
  return std::string(to_string(c.action)) + " by node " + c.node + " at " + utc_rfc3339(c.at);
}

Result<Claim> parse_claim(const std::string& text, const store::EncryptionKey* key, const std::string& workspace_id,
                          const std::string& checkpoint_id) {
  const std::string what = "claim of checkpoint " + checkpoint_id;
  auto doc = open_document(text, kKind, key, what);
  if (!doc) return doc.error();
  auto field = [&](const char* name) -> std::string {
    auto it = doc->find(name);
    return it != doc->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  Claim c;
  const std::string action = field("action");
  if (action == "restore") c.action = ClaimAction::kRestore;
  else if (action == "resume") c.action = ClaimAction::kResume;
  else return Error(ErrorCode::kIntegrity, what + ": unknown action '" + action + "'");
  c.node = field("node");
  c.workspace_id = field("workspaceId");
  c.checkpoint_id = field("checkpointId");
  auto at = parse_utc_rfc3339(field("at"));
  if (c.node.empty() || !at) return Error(ErrorCode::kIntegrity, what + ": node or time missing");
  // A claim copied from another checkpoint must not count for this one.
  if (c.workspace_id != workspace_id || c.checkpoint_id != checkpoint_id) {
    return Error(ErrorCode::kIntegrity, what + " names checkpoint " + c.checkpoint_id + " of workspace " +
                                            c.workspace_id + ": it was copied from elsewhere; refusing it");
  }
  c.at = *at;
  return c;
}

}  // namespace

std::string_view to_string(ClaimAction action) { return action == ClaimAction::kRestore ? "restore" : "resume"; }

std::string claim_key(std::string_view workspace_id, std::string_view checkpoint_id) {
  return store::layout::checkpoint_prefix(workspace_id, checkpoint_id) + "claim.json";
}

Result<std::optional<Claim>> read_claim(DocumentStore& store, const store::EncryptionKey* key,
                                        const std::string& workspace_id, const std::string& checkpoint_id) {
  auto text = store.read(claim_key(workspace_id, checkpoint_id));
  if (!text) return text.error();
  if (!text->has_value()) return std::optional<Claim>{};
  auto claim = parse_claim(**text, key, workspace_id, checkpoint_id);
  if (!claim) return claim.error();
  return std::optional<Claim>(std::move(*claim));
}

Result<Claim> take_claim(DocumentStore& store, const store::EncryptionKey* key, ClaimAction action,
                         const std::string& node, const std::string& workspace_id, const std::string& checkpoint_id) {
  auto now = store.now();
  if (!now) return now.error();
  Claim mine{action, node, workspace_id, checkpoint_id, *now};
  json doc{{"action", to_string(action)},
           {"node", node},
           {"workspaceId", workspace_id},
           {"checkpointId", checkpoint_id},
           {"at", utc_rfc3339(*now)}};
  Status created = store.create_exclusive(claim_key(workspace_id, checkpoint_id), sign_document(doc, kKind, key));
  if (created.ok()) return mine;
  if (created.error().code() != ErrorCode::kConflict) return created.error().wrap("claiming checkpoint " + checkpoint_id);
  auto existing = read_claim(store, key, workspace_id, checkpoint_id);
  if (!existing) return existing.error();
  if (!existing->has_value()) {
    return Error(ErrorCode::kUnavailable, "claim of checkpoint " + checkpoint_id + " was refused as existing but "
                                          "cannot be read: try again");
  }
  const Claim& holder = **existing;
  if (holder.action == action && holder.node == node) return holder;  // ours already: carry on
  return Error(ErrorCode::kConflict, "checkpoint " + checkpoint_id + " of workspace " + workspace_id +
                                         " is already claimed (" + describe(holder) + "); it cannot also be " +
                                         std::string(to_string(action) == "restore" ? "restored" : "resumed") +
                                         " by node " + node);
}

}  // namespace wscp::migration
