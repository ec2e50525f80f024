#include "controller/retention.h"

#include <algorithm>
#include <map>

#include "controller/checkpoint_reconciler.h"
#include "controller/migration_machine.h"
#include "kube/api_error.h"
#include "kube/resource.h"

namespace wscp::controller {

std::optional<RetainedCheckpoint> retained_checkpoint(const nlohmann::json& object) {
  auto parsed = parse_checkpoint_object(object);
  if (!parsed || parsed->deleting) return std::nullopt;
  const auto& s = parsed->status;
  if (!s.workspace_id || !s.finished_at) return std::nullopt;
  // A source not released still holds the workspace lock, and its stopped
  // copy is recorded only here: the resource stays.
  return RetainedCheckpoint{parsed->ns, parsed->name, parsed->uid, *s.workspace_id, *s.finished_at,
                            runs_somewhere_known(s) && !source_unreleased(s)};
}

std::vector<RetainedCheckpoint> beyond_keep_last(std::vector<RetainedCheckpoint> same_workspace,
                                                 std::size_t keep_last) {
  if (keep_last == 0 || same_workspace.size() <= keep_last) return {};
  std::sort(same_workspace.begin(), same_workspace.end(), [](const auto& a, const auto& b) {
    return a.finished_at != b.finished_at ? a.finished_at > b.finished_at : a.name < b.name;
  });
  std::vector<RetainedCheckpoint> out;
  for (std::size_t i = keep_last; i < same_workspace.size(); ++i) {
    if (same_workspace[i].settled) out.push_back(same_workspace[i]);
  }
  return out;
}

std::string retention_key(const RetainedCheckpoint& c) {
  return std::string(kRetentionKeyPrefix) + c.ns + "/" + c.workspace_id;
}

RetentionSweeper::RetentionSweeper(kube::KubeClient& kube, kube::EventRecorder& events,
                                   std::shared_ptr<log::Logger> logger,
                                   std::function<std::vector<nlohmann::json>()> list, std::size_t keep_last)
    : kube_(kube), events_(events), logger_(std::move(logger)), list_(std::move(list)), keep_last_(keep_last) {}

kube::WorkResult RetentionSweeper::reconcile(const std::string& key) {
  const auto slash = key.find('/');
  if (slash == std::string::npos) return kube::WorkResult::terminal(Error(ErrorCode::kInternal, "bad key " + key));
  const std::string ns = key.substr(0, slash);
  const std::string workspace = key.substr(slash + 1);
  std::vector<RetainedCheckpoint> same;
  std::map<std::string, nlohmann::json> raw_by_uid;
  const nlohmann::json::json_pointer namespace_at("/metadata/namespace"), workspace_at("/status/workspaceId");
  for (auto& object : list_()) {
    // Only this workspace's resources are parsed: the cache holds them all.
    if (text_at(object, namespace_at) != ns || text_at(object, workspace_at) != workspace) continue;
    auto c = retained_checkpoint(object);
    if (!c || c->ns != ns || c->workspace_id != workspace) continue;
    raw_by_uid[c->uid] = std::move(object);
    same.push_back(std::move(*c));
  }
  for (const auto& old : beyond_keep_last(std::move(same), keep_last_)) {
    kube::DeleteOptions options;
    options.precondition_uid = old.uid;  // this incarnation only
    auto removed = kube_.remove(kube::resources::kWorkspaceCheckpoints, old.ns, old.name, options);
    if (!removed) {
      if (kube::is_not_found(removed.error()) || kube::is_conflict(removed.error())) continue;  // gone or replaced
      return kube::WorkResult::retry(removed.error());
    }
    const std::string why = "deleted by retention: beyond the newest " + std::to_string(keep_last_) +
                            " finished WorkspaceCheckpoints of workspace " + workspace + " in " + ns +
                            " (--keep-last)";
    auto told = events_.record(kube::ObjectReference::of(kube::resources::kWorkspaceCheckpoints, raw_by_uid[old.uid]),
                               kube::EventType::kNormal, "Retention", "Delete", why);
    if (!told) logger_->warning("event not recorded", {{"reason", "Retention"}, {"error", told.error().describe()}});
    logger_->info("deleted by retention", {{"object", old.ns + "/" + old.name}, {"workspace", workspace}});
  }
  return kube::WorkResult::done();
}

}  // namespace wscp::controller
