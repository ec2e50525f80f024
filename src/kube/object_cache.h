#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kube/kube_client.h"

namespace wscp::kube {

// What changed in the cache, for the handlers.
struct CacheChange {
  enum class Kind { kAdd, kUpdate, kDelete };
  Kind kind = Kind::kAdd;
  Json old_object;  // kUpdate: the previous state; kDelete: the last known state
  Json object;      // kAdd, kUpdate: the new state
};

// The informer's store of objects by "ns/name". One writer (the watch
// thread) calls replace() and apply(); any thread reads. A relist swaps in a
// fresh snapshot, and replace() reports what differs from the old one:
// objects that disappeared across the relist are deletes.
class ObjectCache {
 public:
  std::vector<CacheChange> replace(std::vector<Json> items);
  std::optional<CacheChange> apply(const WatchEvent& event);

  std::optional<Json> get(std::string_view key) const;
  std::vector<Json> list() const;
  std::size_t size() const;

 private:
  using Map = std::map<std::string, Json, std::less<>>;
  mutable std::shared_mutex mu_;
  std::shared_ptr<Map> objects_ = std::make_shared<Map>();
};

}  // namespace wscp::kube
