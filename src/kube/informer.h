#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/operation.h"
#include "kube/object_cache.h"
#include "kube/watcher.h"

namespace wscp::kube {

struct InformerHandlers {
  std::function<void(const Json& object)> on_add;
  std::function<void(const Json& old_object, const Json& new_object)> on_update;
  std::function<void(const Json& last_known)> on_delete;
};

struct InformerOptions {
  WatcherOptions watch;
  // Every this often, on_update(o, o) for every cached object, so level-based
  // handlers look at everything again; 0: never.
  std::chrono::milliseconds resync_period{0};
};

// Keeps a cache of one resource (in one namespace, or all) current through a
// Watcher, and calls handlers on add/update/delete. Two threads: the watch
// thread is the cache's only writer; the handler thread calls the handlers
// in order and does the resyncs, so slow handlers never stall the watch.
class Informer {
 public:
  Informer(KubeClient& client, Resource resource, std::string ns, InformerOptions options = {},
           std::shared_ptr<Clock> clock = system_clock());
  ~Informer();  // stop()
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Before start().
  void add_handlers(InformerHandlers handlers);
  void start();
  // Stops both threads and waits for them; handlers are not called after it
  // returns. Idempotent.
  void stop();

  // The first list has been cached and its adds handed to the handlers.
  bool has_synced() const;
  bool wait_for_sync(std::chrono::milliseconds timeout) const;

  std::optional<Json> get(std::string_view ns, std::string_view name) const;
  std::vector<Json> list() const;
  const ObjectCache& cache() const { return cache_; }
  // The last list/watch failure (retried by the informer), for logs.
  std::optional<Error> last_error() const;

 private:
  struct Item {
    std::optional<CacheChange> change;  // none: the first list is delivered
  };
  class Feed;

  void push(std::vector<Item> items);
  void dispatch_loop();
  void deliver(const CacheChange& c);

  KubeClient& client_;
  Resource resource_;
  std::string ns_;
  InformerOptions options_;
  std::shared_ptr<Clock> clock_;
  std::vector<InformerHandlers> handlers_;
  ObjectCache cache_;

  CancelToken cancel_;
  std::thread watch_thread_;
  std::thread dispatch_thread_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  bool synced_ = false;
  bool listed_once_ = false;
  std::optional<Error> last_error_;
};

}  // namespace wscp::kube
