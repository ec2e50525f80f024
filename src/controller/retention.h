#pragma once

// Keep-last-N: of the finished WorkspaceCheckpoints of one workspace in one
// namespace, the newest N stay and the older ones are deleted (their
// finalizer then deletes their archives, as for any deletion). A resource
// whose workspace runs nowhere known, or whose source was not released, is
// never deleted by retention: its archive may be the workspace's only copy
// (or its source still needs it), and the resource says where it is.

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kube/event_recorder.h"
#include "kube/kube_client.h"
#include "kube/workspace_checkpoint.h"
#include "kube/worker_pool.h"
#include "log/logger.h"

namespace wscp::controller {

// What retention reads of one resource.
struct RetainedCheckpoint {
  std::string ns;
  std::string name;
  std::string uid;
  std::string workspace_id;
  kube::Time finished_at;
  // It runs somewhere known (runs_somewhere_known) and its source, if it
  // moved, was released: deleting the resource and its archive loses
  // nothing.
  bool settled = false;
};

// The resource as retention sees it; nullopt when retention does not count
// it: not finished, no workspace id, already being deleted, unparsable.
std::optional<RetainedCheckpoint> retained_checkpoint(const nlohmann::json& object);

// Of one workspace's finished resources, those beyond the newest
// `keep_last` (newest first by finishedAt, then by name), less those whose
// workspace runs nowhere known. keep_last 0 keeps everything.
std::vector<RetainedCheckpoint> beyond_keep_last(std::vector<RetainedCheckpoint> same_workspace,
                                                 std::size_t keep_last);

// The queue key of a workspace's retention: "retain:<namespace>/<workspace id>".
std::string retention_key(const RetainedCheckpoint& c);
inline constexpr std::string_view kRetentionKeyPrefix = "retain:";

class RetentionSweeper {
 public:
  // `list`: every WorkspaceCheckpoint (the informer's cache).
  RetentionSweeper(kube::KubeClient& kube, kube::EventRecorder& events, std::shared_ptr<log::Logger> logger,
                   std::function<std::vector<nlohmann::json>()> list, std::size_t keep_last);
  // key: "<namespace>/<workspace id>" (the retention key without its prefix).
  kube::WorkResult reconcile(const std::string& key);

 private:
  kube::KubeClient& kube_;
  kube::EventRecorder& events_;
  std::shared_ptr<log::Logger> logger_;
  std::function<std::vector<nlohmann::json>()> list_;
  std::size_t keep_last_;
};

}  // namespace wscp::controller
