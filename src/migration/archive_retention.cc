#include "migration/archive_retention.h"

#include <map>
#include <optional>
#include <set>

#include "common/time_format.h"
#include "migration/claim.h"
#include "migration/plan_phase.h"
#include "migration/workspace_lock.h"
#include "store/layout.h"

namespace wscp::migration {
namespace {

// Why a checkpoint with this claim must stay, or "" when it may go. A
// sealed one with no claim yet is a stopped workspace's only copy.
std::string still_needed(const std::optional<Plan>& sealed_plan, const Claim& claim) {
  switch (claim.state) {
    case ClaimState::kRestored:
    case ClaimState::kResumed: return "";
    case ClaimState::kNone:
      if (!sealed_plan) return "";
      return "it is the only copy of a stopped workspace (neither restored nor resumed): restore it on a node, or "
             "resume it on its source " + sealed_plan->source_node + ", then delete it";
    case ClaimState::kRestoring:
    case ClaimState::kResuming:
    case ClaimState::kAbandoned:
      return "its claim is " + std::string(to_string(claim.state)) +
             (claim.node.empty() ? "" : " by node " + claim.node) +
             ": a restore or a resume is in flight; delete it once that has ended";
  }
  return "its claim is unknown";
}

// Why the migration that made this checkpoint may still need it, or "".
// Its source holds the workspace lock until it has released or resumed
// the workspace, and its recovery reads the plan: an expired lock too,
// since an agent that comes back recovers whatever its journal holds.
std::string still_in_use(const LockState& lock, const std::string& checkpoint_id) {
  if (!lock.held || lock.checkpoint_id != checkpoint_id) return "";
  return "node " + lock.node + " still holds the workspace lock for it (since " + utc_rfc3339(lock.since) +
         "): its migration has not finished releasing or resuming the workspace; run `wscp-agent resume --pending` "
         "on node " + lock.node + " if it stopped, then delete it";
}

// Whether an image was stored again (a checkpoint reusing it rewrites its
// objects) since it was listed: that checkpoint's manifest will name it.
// Checked just before removal, it narrows the race to that moment; a
// restore that then misses the image fails before anything runs, and the
// source resumes.
bool touched_since(store::ObjectStore& objects, const std::string& prefix,
                   std::chrono::system_clock::time_point listed_newest) {
  auto again = objects.list(prefix + "/");
  if (!again) return true;  // unknown: keep it
  for (const auto& o : *again) {
    if (o.last_modified > listed_newest) return true;
  }
  return false;
}

}  // namespace

Result<DeletedCheckpoint> delete_checkpoint_archives(NodeServices& node, const std::string& workspace_id,
                                                     const std::string& checkpoint_id, const OperationContext& ctx) {
  for (auto st : {store::validate_name(workspace_id, "workspace id"),
                  store::validate_name(checkpoint_id, "checkpoint id")}) {
    if (!st) return st.error();
  }
  auto objects = node.checkpoints.objects().list(store::layout::checkpoint_prefix(workspace_id, checkpoint_id));
  if (!objects) return objects.error();
  DeletedCheckpoint deleted;
  if (objects->empty()) return deleted;

  std::optional<Plan> sealed_plan;
  auto manifest = node.checkpoints.read_manifest(workspace_id, checkpoint_id, ctx);
  if (manifest) {
    auto plan = read_plan(node, workspace_id, checkpoint_id);
    if (!plan) return plan.error().wrap("checkpoint " + checkpoint_id + " is sealed but its plan cannot be read; kept");
    sealed_plan = std::move(*plan);
  } else if (manifest.error().code() != ErrorCode::kNotFound) {
    // A manifest that fails its checks may still be a workspace's only
    // record: a person decides.
    return manifest.error().wrap("checkpoint " + checkpoint_id + " is kept");
  }
  // Unsealed too: a cut-through restore may be following it as it is written.
  auto claim = ClaimLog(node.documents, node.verify_keys(), workspace_id, checkpoint_id).current();
  if (!claim) return claim.error().wrap("checkpoint " + checkpoint_id + ": its claim cannot be read; kept");
  if (auto why = still_needed(sealed_plan, *claim); !why.empty())
    return Error(ErrorCode::kConflict, "checkpoint " + checkpoint_id + " of workspace " + workspace_id +
                                           " is kept: " + why);
  auto lock = WorkspaceLock(node.documents, node.verify_keys(), workspace_id).current();
  if (!lock) return lock.error().wrap("checkpoint " + checkpoint_id + ": the workspace lock cannot be read; kept");
  if (auto why = still_in_use(*lock, checkpoint_id); !why.empty())
    return Error(ErrorCode::kConflict, "checkpoint " + checkpoint_id + " of workspace " + workspace_id +
                                           " is kept: " + why);
  for (const auto& o : *objects) {
    deleted.objects++;
    deleted.bytes += o.size;
  }
  if (auto st = node.checkpoints.delete_checkpoint(workspace_id, checkpoint_id); !st) return st.error();
  return deleted;
}

Result<ImageCollection> collect_unreferenced_images(NodeServices& node, std::chrono::seconds grace,
                                                    const OperationContext& ctx) {
  store::ObjectStore& objects = node.checkpoints.objects();
  auto now = objects.now();
  if (!now) return now.error();

  // Every sealed checkpoint's images. Keys are workspaces/<ws>/checkpoints/<id>/manifest.json.
  auto keys = objects.list("workspaces/");
  if (!keys) return keys.error();
  std::set<std::string> referenced;
  const std::string suffix = "/" + std::string(store::layout::kManifestName);
  for (const auto& o : *keys) {
    if (o.key.size() <= suffix.size() || o.key.compare(o.key.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const std::string path = o.key.substr(std::string("workspaces/").size());
    const auto first = path.find('/');
    const std::string marker = "/checkpoints/";
    if (first == std::string::npos || path.compare(first, marker.size(), marker) != 0) continue;
    const std::string workspace = path.substr(0, first);
    const std::string rest = path.substr(first + marker.size());
    const std::string checkpoint = rest.substr(0, rest.find('/'));
    if (checkpoint + suffix != rest) continue;
    auto manifest = node.checkpoints.read_manifest(workspace, checkpoint, ctx);
    if (!manifest) {
      if (manifest.error().code() == ErrorCode::kNotFound) continue;  // deleted meanwhile
      return manifest.error().wrap("no image was collected: the manifest of checkpoint " + checkpoint +
                                   " of workspace " + workspace + " could name any of them");
    }
    for (const auto& image : manifest->images) referenced.insert(store::layout::image_key(image.id));
  }

  // images/sha256/<hex>/...: an image's age is its newest object's.
  auto stored = objects.list("images/sha256/");
  if (!stored) return stored.error();
  std::map<std::string, std::pair<std::chrono::system_clock::time_point, std::vector<std::string>>> images;
  for (const auto& o : *stored) {
    const auto slash = o.key.find('/', std::string("images/sha256/").size());
    if (slash == std::string::npos) continue;
    auto& [newest, members] = images[o.key.substr(0, slash)];
    newest = std::max(newest, o.last_modified);
    members.push_back(o.key);
  }
  ImageCollection result;
  for (const auto& [prefix, image] : images) {
    const auto& [newest, members] = image;
    if (referenced.count(prefix) != 0 || *now - newest < grace || touched_since(objects, prefix, newest)) {
      result.kept++;
      continue;
    }
    for (const auto& key : members) {
      if (auto st = objects.remove(key); !st) return st.error().wrap("collecting image " + prefix);
    }
    result.removed.push_back("sha256:" + prefix.substr(std::string("images/sha256/").size()));
  }
  return result;
}

Result<CheckpointDeletion> delete_checkpoint(NodeServices& node, const std::string& workspace_id,
                                             const std::string& checkpoint_id,
                                             const std::function<std::optional<std::chrono::seconds>()>& collect_with_grace,
                                             const OperationContext& ctx) {
  auto deleted = delete_checkpoint_archives(node, workspace_id, checkpoint_id, ctx);
  if (!deleted) return deleted.error();
  CheckpointDeletion result{*deleted, std::nullopt, std::nullopt};
  const auto grace = collect_with_grace();
  if (!grace) return result;
  auto collected = collect_unreferenced_images(node, *grace, ctx);
  if (collected) result.images = std::move(*collected);
  else result.collection_failed = collected.error();
  return result;
}

std::string CheckpointDeletion::describe(const std::string& workspace_id, const std::string& checkpoint_id) const {
  std::string text = deleted.objects == 0
                         ? "checkpoint " + checkpoint_id + " of workspace " + workspace_id + " was not in the store"
                         : "deleted checkpoint " + checkpoint_id + " of workspace " + workspace_id + " (" +
                               std::to_string(deleted.objects) + " objects, " + std::to_string(deleted.bytes) +
                               " bytes)";
  if (images) {
    text += "; images: " + std::to_string(images->removed.size()) + " removed, " + std::to_string(images->kept) +
            " kept";
  }
  if (collection_failed) text += "; " + collection_failed->describe();
  return text;
}

}  // namespace wscp::migration
