#pragma once

// An in-memory API server behind the KubeClient interface, for unit tests of
// logic built on it (watcher, informer, leader election, events, and later
// the controller): resource versions, optimistic concurrency, preconditions,
// the status subresource, merge patches, label selectors, paginated lists,
// blocking watches with bookmarks, compaction (410 Gone) and injected faults.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kube/api_error.h"
#include "kube/kube_client.h"
#include "kube/object.h"

namespace wscp::kube::testing {

class FakeKubeClient final : public KubeClient {
 public:
  // The next `times` calls of `verb` (get, list, create, update,
  // update_status, patch, remove, create_subresource, watch) fail with `error`.
  void fail_next(const std::string& verb, Error error, int times = 1) {
    std::lock_guard lock(mu_);
    for (int i = 0; i < times; ++i) faults_[verb].push_back(error);
  }
  // Every call of `verb` fails with `error` until clear_faults(verb).
  void fail_always(const std::string& verb, Error error) {
    std::lock_guard lock(mu_);
    sticky_faults_.insert_or_assign(verb, std::move(error));
  }
  // Forgets the faults queued or set for `verb`.
  void clear_faults(const std::string& verb) {
    std::lock_guard lock(mu_);
    faults_.erase(verb);
    sticky_faults_.erase(verb);
  }
  // An API error as the server would send it.
  static Error api(int code, const std::string& reason, const std::string& message = "injected") {
    return api_error_from_status({{"code", code}, {"reason", reason}, {"message", message}}, "fake");
  }
  // Ends every running watch with `how` (Ok: as at timeoutSeconds; an error:
  // as when the server goes away).
  void end_watches(Status how = Ok{}) {
    std::lock_guard lock(mu_);
    ++watch_generation_;
    watch_end_ = how;
    cv_.notify_all();
  }
  // Forgets the history: a watch from an older version fails with 410.
  void compact() {
    std::lock_guard lock(mu_);
    compacted_ = revision_;
    history_.clear();
  }
  // A BOOKMARK at the current revision for running watches of `r`.
  void bookmark(const Resource& r) {
    std::lock_guard lock(mu_);
    ++revision_;
    history_.push_back({id(r), WatchEventType::kBookmark,
                        {{"metadata", {{"resourceVersion", std::to_string(revision_)}}}}, revision_, ""});
    cv_.notify_all();
  }
  std::int64_t revision() const {
    std::lock_guard lock(mu_);
    return revision_;
  }
  int calls(const std::string& verb) const {
    std::lock_guard lock(mu_);
    auto it = calls_.find(verb);
    return it == calls_.end() ? 0 : it->second;
  }
  // The resourceVersion each watch started from, in order.
  std::vector<std::string> watch_versions() const {
    std::lock_guard lock(mu_);
    return watch_versions_;
  }
  int running_watches() const {
    std::lock_guard lock(mu_);
    return running_watches_;
  }
  // The stored object, bypassing faults and counters.
  std::optional<Json> stored(const Resource& r, std::string_view ns, std::string_view name) const {
    std::lock_guard lock(mu_);
    auto s = store_.find(id(r));
    if (s == store_.end()) return std::nullopt;
    auto it = s->second.find(object_key(r.namespaced ? ns : "", name));
    if (it == s->second.end()) return std::nullopt;
    return it->second;
  }
  std::vector<Json> stored_all(const Resource& r) const {
    std::lock_guard lock(mu_);
    std::vector<Json> out;
    if (auto s = store_.find(id(r)); s != store_.end()) {
      for (const auto& [k, v] : s->second) out.push_back(v);
    }
    return out;
  }
  // Resources whose status is written only through the status subresource.
  std::set<std::string> status_subresources{"wscp.dev/workspacecheckpoints", "/pods", "/nodes"};

  Result<Json> get(const Resource& r, std::string_view ns, std::string_view name, const CallOptions& = {}) override {
    std::lock_guard lock(mu_);
    if (auto f = fault("get")) return *f;
    auto* obj = find(r, ns, name);
    if (!obj) return not_found(r, name);
    return *obj;
  }

  Result<ObjectList> list(const Resource& r, std::string_view ns, const ListOptions& o = {}) override {
    std::lock_guard lock(mu_);
    if (auto f = fault("list")) return *f;
    std::vector<Json> matching;
    for (const auto& [key, obj] : store_[id(r)]) {
      if (in_scope(r, obj, ns) && matches(obj, o.label_selector, o.field_selector)) matching.push_back(obj);
    }
    std::size_t start = o.continue_token.empty() ? 0 : std::stoul(o.continue_token);
    std::size_t end = o.limit > 0 ? std::min(matching.size(), start + static_cast<std::size_t>(o.limit)) : matching.size();
    ObjectList out;
    out.items.assign(matching.begin() + static_cast<std::ptrdiff_t>(std::min(start, matching.size())),
                     matching.begin() + static_cast<std::ptrdiff_t>(end));
    out.resource_version = std::to_string(revision_);
    if (end < matching.size()) out.continue_token = std::to_string(end);
    return out;
  }

  Result<Json> create(const Resource& r, const Json& object, const WriteOptions& = {}) override {
    std::lock_guard lock(mu_);
    if (auto f = fault("create")) return *f;
    Json obj = object;
    std::string name = name_of(obj);
    if (name.empty()) {
      name = meta_string(obj, "generateName") + std::to_string(++generated_);
      obj["metadata"]["name"] = name;
    }
    if (r.namespaced && namespace_of(obj).empty()) return api(422, "Invalid", "metadata.namespace: Required value");
    if (find(r, namespace_of(obj), name)) {
      return api(409, "AlreadyExists", r.qualified_name() + " \"" + name + "\" already exists");
    }
    obj["apiVersion"] = r.api_version();
    obj["kind"] = r.kind;
    obj["metadata"]["uid"] = "uid-" + std::to_string(++uids_);
    obj["metadata"]["generation"] = 1;
    if (!r.namespaced) obj["metadata"].erase("namespace");
    if (status_subresources.contains(id(r))) obj.erase("status");
    return commit(r, WatchEventType::kAdded, std::move(obj));
  }

  Result<Json> update(const Resource& r, const Json& object, const WriteOptions& = {}) override {
    return put(r, object, false, "update");
  }
  Result<Json> update_status(const Resource& r, const Json& object, const WriteOptions& = {}) override {
    return put(r, object, true, "update_status");
  }

  Result<Json> patch(const Resource& r, std::string_view ns, std::string_view name, const Json& patch,
                     const PatchOptions& o = {}) override {
    std::unique_lock lock(mu_);
    if (auto f = fault("patch")) return *f;
    auto* current = find(r, ns, name);
    if (!current) {
      if (o.type == PatchType::kApply) {
        lock.unlock();
        Json obj = patch;
        obj["metadata"]["name"] = std::string(name);
        if (r.namespaced) obj["metadata"]["namespace"] = std::string(ns);
        return create(r, obj, o);
      }
      return not_found(r, name);
    }
    Json obj = *current;
    const bool status = o.subresource == "status";
    if (o.type == PatchType::kJsonPatch) {
      obj = obj.patch(patch);
    } else if (status) {
      Json s = obj.value("status", Json::object());
      s.merge_patch(patch.value("status", Json::object()));
      obj["status"] = s;
    } else {
      Json p = patch;
      if (status_subresources.contains(id(r))) p.erase("status");
      obj.merge_patch(p);
    }
    return commit(r, WatchEventType::kModified, std::move(obj));
  }

  Result<Json> remove(const Resource& r, std::string_view ns, std::string_view name, const DeleteOptions& o = {}) override {
    std::lock_guard lock(mu_);
    if (auto f = fault("remove")) return *f;
    auto* current = find(r, ns, name);
    if (!current) return not_found(r, name);
    if ((!o.precondition_uid.empty() && o.precondition_uid != uid_of(*current)) ||
        (!o.precondition_resource_version.empty() &&
         o.precondition_resource_version != resource_version_of(*current))) {
      return api(409, "Conflict", "Precondition failed");
    }
    Json obj = *current;
    store_[id(r)].erase(key(r, obj));
    obj["metadata"]["resourceVersion"] = std::to_string(++revision_);
    history_.push_back({id(r), WatchEventType::kDeleted, obj, revision_, namespace_of(obj)});
    cv_.notify_all();
    return obj;
  }

  Result<Json> create_subresource(const Resource& r, std::string_view ns, std::string_view name,
                                  std::string_view subresource, const Json& body, const WriteOptions& = {}) override {
    std::lock_guard lock(mu_);
    if (auto f = fault("create_subresource")) return *f;
    if (!find(r, ns, name)) return not_found(r, name);
    if (r == resources::kServiceAccounts && subresource == "token") {
      Json answer = body;
      answer["status"]["token"] = "token-" + std::string(name) + "-" + std::to_string(++uids_);
      return answer;
    }
    return api(404, "NotFound", "no subresource " + std::string(subresource));
  }

  Status watch(const Resource& r, std::string_view ns, const WatchOptions& o, const WatchHandler& on_event) override {
    std::unique_lock lock(mu_);
    watch_versions_.push_back(o.resource_version);
    if (auto f = fault("watch")) return *f;
    std::int64_t cursor = o.resource_version.empty() ? revision_ : std::stoll(o.resource_version);
    if (cursor < compacted_) {
      return api(410, "Expired", "too old resource version: " + o.resource_version + " (" +
                                     std::to_string(compacted_) + ")");
    }
    const int generation = watch_generation_;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_seconds > 0 ? o.timeout_seconds : 3600);
    ++running_watches_;
    struct Running {
      int& n;
      ~Running() { --n; }
    } running{running_watches_};
    for (;;) {
      std::vector<WatchEvent> batch;
      for (const auto& h : history_) {
        if (h.revision <= cursor || h.resource != id(r)) continue;
        cursor = h.revision;
        if (h.type == WatchEventType::kBookmark) {
          if (!o.allow_bookmarks) continue;
        } else if (r.namespaced && !ns.empty() && h.ns != ns) {
          continue;
        }
        if (h.type != WatchEventType::kBookmark && !matches(h.object, o.label_selector, o.field_selector)) continue;
        batch.push_back({h.type, h.object});
      }
      if (!batch.empty()) {
        lock.unlock();
        for (const auto& e : batch) {
          if (Status s = on_event(e); !s) {
            lock.lock();
            return s;
          }
        }
        lock.lock();
        continue;
      }
      if (o.cancel && o.cancel->cancelled()) return Error(ErrorCode::kCancelled, "watch cancelled");
      if (watch_generation_ != generation) return watch_end_;
      if (std::chrono::steady_clock::now() >= until) return Ok{};
      cv_.wait_for(lock, std::chrono::milliseconds(5));
    }
  }

 private:
  struct HistoryEntry {
    std::string resource;
    WatchEventType type;
    Json object;
    std::int64_t revision;
    std::string ns;
  };

  static std::string id(const Resource& r) { return r.group + "/" + r.plural; }
  static std::string key(const Resource& r, const Json& obj) {
    return object_key(r.namespaced ? namespace_of(obj) : "", name_of(obj));
  }
  static bool in_scope(const Resource& r, const Json& obj, std::string_view ns) {
    return !r.namespaced || ns.empty() || namespace_of(obj) == ns;
  }
  // Equality terms only: "a=b,c=d" (labels); metadata.name / metadata.namespace (fields).
  static bool matches(const Json& obj, const std::string& labels, const std::string& fields) {
    auto each_term = [](const std::string& sel, auto&& fn) {
      std::size_t start = 0;
      while (start < sel.size()) {
        std::size_t comma = sel.find(',', start);
        std::string term = sel.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        std::size_t eq = term.find('=');
        if (!fn(term.substr(0, eq), term.substr(eq + 1))) return false;
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      return true;
    };
    const Json l = obj.contains("metadata") ? obj["metadata"].value("labels", Json::object()) : Json::object();
    return each_term(labels, [&](const std::string& k, const std::string& v) { return l.value(k, "") == v; }) &&
           each_term(fields, [&](const std::string& k, const std::string& v) {
             return (k == "metadata.name" ? name_of(obj) : namespace_of(obj)) == v;
           });
  }

  std::optional<Error> fault(const std::string& verb) {
    ++calls_[verb];
    if (auto sticky = sticky_faults_.find(verb); sticky != sticky_faults_.end()) return sticky->second;
    auto it = faults_.find(verb);
    if (it == faults_.end() || it->second.empty()) return std::nullopt;
    Error e = it->second.front();
    it->second.pop_front();
    return e;
  }
  Json* find(const Resource& r, std::string_view ns, std::string_view name) {
    auto& m = store_[id(r)];
    auto it = m.find(object_key(r.namespaced ? ns : "", name));
    return it == m.end() ? nullptr : &it->second;
  }
  static Error not_found(const Resource& r, std::string_view name) {
    return api(404, "NotFound", r.qualified_name() + " \"" + std::string(name) + "\" not found");
  }
  Result<Json> commit(const Resource& r, WatchEventType type, Json obj) {
    obj["metadata"]["resourceVersion"] = std::to_string(++revision_);
    store_[id(r)][key(r, obj)] = obj;
    history_.push_back({id(r), type, obj, revision_, namespace_of(obj)});
    cv_.notify_all();
    return obj;
  }
  Result<Json> put(const Resource& r, const Json& object, bool status, const char* verb) {
    std::lock_guard lock(mu_);
    if (auto f = fault(verb)) return *f;
    auto* current = find(r, namespace_of(object), name_of(object));
    if (!current) return not_found(r, name_of(object));
    const std::string rv = resource_version_of(object);
    if (!rv.empty() && rv != resource_version_of(*current)) {
      return api(409, "Conflict", "Operation cannot be fulfilled on " + r.qualified_name() + " \"" +
                                      name_of(object) + "\": the object has been modified; please apply your "
                                      "changes to the latest version and try again");
    }
    Json obj = *current;
    if (status) {
      obj["status"] = object.value("status", Json::object());
    } else {
      Json keep_status = obj.value("status", Json());
      const bool spec_changed = obj.value("spec", Json()) != object.value("spec", Json());
      obj = object;
      obj["metadata"]["uid"] = uid_of(*current);
      obj["metadata"]["generation"] = (*current)["metadata"].value("generation", 1) + (spec_changed ? 1 : 0);
      if (status_subresources.contains(id(r))) {
        if (keep_status.is_null()) obj.erase("status");
        else obj["status"] = keep_status;
      }
    }
    return commit(r, WatchEventType::kModified, std::move(obj));
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::map<std::string, Json>> store_;
  std::vector<HistoryEntry> history_;
  std::map<std::string, std::deque<Error>> faults_;
  std::map<std::string, Error> sticky_faults_;
  std::map<std::string, int> calls_;
  std::int64_t revision_ = 100;
  std::int64_t compacted_ = 0;
  int uids_ = 0;
  int generated_ = 0;
  int watch_generation_ = 0;
  int running_watches_ = 0;
  Status watch_end_ = Ok{};
  std::vector<std::string> watch_versions_;
};

}  // namespace wscp::kube::testing
