#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/operation.h"
#include "common/result.h"
#include "kube/resource.h"

namespace wscp::kube {

using Json = nlohmann::json;

// What every call may carry.
struct CallOptions {
  std::chrono::milliseconds timeout{0};  // 0: the client's default
  const CancelToken* cancel = nullptr;
};

struct ListOptions : CallOptions {
  std::string label_selector;     // "app=wscp,tier!=db"
  std::string field_selector;     // "metadata.name=x", "spec.nodeName=n1"
  std::int64_t limit = 0;         // page size; 0: everything at once
  std::string continue_token;     // from the previous page
  std::string resource_version;   // "": a consistent read; "0": any cached state
};

struct ObjectList {
  std::vector<Json> items;
  std::string resource_version;   // of the collection: where a watch starts
  std::string continue_token;     // "" on the last page
};

struct WriteOptions : CallOptions {
  std::string field_manager;      // who makes the change (server-side apply needs one)
  bool dry_run = false;
};

enum class PatchType {
  kMerge,           // application/merge-patch+json (RFC 7386)
  kJsonPatch,       // application/json-patch+json (RFC 6902)
  kStrategicMerge,  // built-in kinds only
  kApply,           // server-side apply; needs field_manager
};

struct PatchOptions : WriteOptions {
  PatchType type = PatchType::kMerge;
  bool force = false;             // apply: take over fields other managers own
  std::string subresource;        // "status", or "" for the object
};

enum class Propagation { kDefault, kForeground, kBackground, kOrphan };

struct DeleteOptions : CallOptions {
  std::string precondition_uid;               // delete only this incarnation
  std::string precondition_resource_version;  // delete only if unchanged
  Propagation propagation = Propagation::kDefault;
  std::optional<std::int64_t> grace_period_seconds;
};

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  Json object;  // the object; for a bookmark only metadata.resourceVersion
};

std::string_view to_string(WatchEventType t);

struct WatchOptions : CallOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;   // start after this version
  bool allow_bookmarks = true;
  // The server ends the watch after this long, so watches cycle; 0: its default.
  int timeout_seconds = 300;
};

// Called for every event but ERROR (which ends the watch with its error). An
// error returned here stops the watch and is returned by watch().
using WatchHandler = std::function<Status(const WatchEvent&)>;

// Typed access to the Kubernetes API for any Resource. Objects are JSON;
// failures are Errors mapped from the server's Status (kube/api_error.h: the
// reason stays readable with api_reason(), is_conflict(), is_gone(), ...).
// `ns` is ignored for cluster-scoped resources; create/update/update_status
// take the namespace and name from the object's metadata. Thread-safe.
class KubeClient {
 public:
  virtual ~KubeClient() = default;

  virtual Result<Json> get(const Resource& r, std::string_view ns, std::string_view name,
                           const CallOptions& options = {}) = 0;
  // One page (or all, without a limit); see list_all() for pagination.
  virtual Result<ObjectList> list(const Resource& r, std::string_view ns, const ListOptions& options = {}) = 0;
  virtual Result<Json> create(const Resource& r, const Json& object, const WriteOptions& options = {}) = 0;
  // PUT: fails with a conflict (is_conflict) when metadata.resourceVersion is
  // set and the object has changed since.
  virtual Result<Json> update(const Resource& r, const Json& object, const WriteOptions& options = {}) = 0;
  // PUT of the status subresource: only .status changes.
  virtual Result<Json> update_status(const Resource& r, const Json& object, const WriteOptions& options = {}) = 0;
  virtual Result<Json> patch(const Resource& r, std::string_view ns, std::string_view name, const Json& patch,
                             const PatchOptions& options = {}) = 0;
  // Returns what the server answers: the object (still there while
  // finalizers run) or a Status.
  virtual Result<Json> remove(const Resource& r, std::string_view ns, std::string_view name,
                              const DeleteOptions& options = {}) = 0;
  // POST to a subresource, e.g. serviceaccounts/NAME/token (a TokenRequest).
  virtual Result<Json> create_subresource(const Resource& r, std::string_view ns, std::string_view name,
                                          std::string_view subresource, const Json& body,
                                          const WriteOptions& options = {}) = 0;
  // Streams events to `on_event` until the server ends the watch (Ok), the
  // stream fails, the server sends an ERROR event (its Status as an Error; 410
  // is_gone), or options.cancel is cancelled (kCancelled).
  virtual Status watch(const Resource& r, std::string_view ns, const WatchOptions& options,
                       const WatchHandler& on_event) = 0;
};

// Every page of a list, following continue tokens. The resource_version is
// that of the first page (a consistent snapshot).
Result<ObjectList> list_all(KubeClient& client, const Resource& r, std::string_view ns, ListOptions options = {});

}  // namespace wscp::kube
