#include "kube/object_cache.h"

#include <mutex>

#include "kube/object.h"

namespace wscp::kube {

std::vector<CacheChange> ObjectCache::replace(std::vector<Json> items) {
  auto fresh = std::make_shared<Map>();
  for (auto& item : items) {
    std::string key = key_of(item);
    (*fresh)[std::move(key)] = std::move(item);
  }
  std::shared_ptr<Map> old;
  {
    std::unique_lock lock(mu_);
    old = std::exchange(objects_, fresh);
  }
  // Only this (the writer's) thread changes the maps: compare outside the lock.
  std::vector<CacheChange> changes;
  for (const auto& [key, object] : *fresh) {
    auto was = old->find(key);
    if (was == old->end()) {
      changes.push_back({CacheChange::Kind::kAdd, Json(), object});
    } else if (resource_version_of(was->second) != resource_version_of(object) || uid_of(was->second) != uid_of(object)) {
      changes.push_back({CacheChange::Kind::kUpdate, was->second, object});
    }
  }
  for (const auto& [key, object] : *old) {
    if (!fresh->contains(key)) changes.push_back({CacheChange::Kind::kDelete, object, Json()});
  }
  return changes;
}

std::optional<CacheChange> ObjectCache::apply(const WatchEvent& event) {
  const std::string key = key_of(event.object);
  std::unique_lock lock(mu_);
  auto it = objects_->find(key);
  switch (event.type) {
    case WatchEventType::kAdded:
    case WatchEventType::kModified: {
      if (it == objects_->end()) {
        objects_->emplace(key, event.object);
        return CacheChange{CacheChange::Kind::kAdd, Json(), event.object};
      }
      CacheChange c{CacheChange::Kind::kUpdate, std::move(it->second), event.object};
      it->second = event.object;
      return c;
    }
    case WatchEventType::kDeleted: {
      if (it == objects_->end()) return CacheChange{CacheChange::Kind::kDelete, event.object, Json()};
      objects_->erase(it);
      return CacheChange{CacheChange::Kind::kDelete, event.object, Json()};
    }
    case WatchEventType::kBookmark:
    case WatchEventType::kError:
      break;
  }
  return std::nullopt;
}

std::optional<Json> ObjectCache::get(std::string_view key) const {
  std::shared_lock lock(mu_);
  auto it = objects_->find(key);
  if (it == objects_->end()) return std::nullopt;
  return it->second;
}

std::vector<Json> ObjectCache::list() const {
  std::shared_lock lock(mu_);
  std::vector<Json> out;
  out.reserve(objects_->size());
  for (const auto& [key, object] : *objects_) out.push_back(object);
  return out;
}

std::size_t ObjectCache::size() const {
  std::shared_lock lock(mu_);
  return objects_->size();
}

}  // namespace wscp::kube
