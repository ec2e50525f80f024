#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/operation.h"
#include "kube/kube_client.h"
#include "kube/watch_state.h"

namespace wscp::kube {

// Receives what a Watcher sees, on the Watcher's thread.
class WatchConsumer {
 public:
  virtual ~WatchConsumer() = default;
  // After every successful (re)list: the complete current state.
  virtual void replace(std::vector<Json> items, const std::string& resource_version) = 0;
  // ADDED, MODIFIED, DELETED (bookmarks only move the resource version).
  virtual void apply(const WatchEvent& event) = 0;
  // A list or watch failed; it will be retried (for logs and metrics).
  virtual void failed(const Error&) {}
};

struct WatcherOptions {
  std::string label_selector;
  std::string field_selector;
  std::int64_t page_size = 500;     // list in pages of this many objects
  int watch_timeout_seconds = 300;  // each watch ends after this, and another starts
  BackoffPolicy backoff;
};

// Drives WatchState against a KubeClient: lists (in pages), watches from the
// list's version with bookmarks, re-watches, backs off after errors and lists
// again after 410 Gone.
class Watcher {
 public:
  Watcher(KubeClient& client, Resource resource, std::string ns, WatcherOptions options,
          std::shared_ptr<Clock> clock = system_clock());

  // Runs until `cancel` is cancelled, then returns kCancelled.
  Status run(const CancelToken& cancel, WatchConsumer& consumer);

  // After run() returned (or from the consumer's callbacks).
  const WatchState& state() const { return state_; }

 private:
  Status list(const CancelToken& cancel, WatchConsumer& consumer);
  Status watch(const CancelToken& cancel, WatchConsumer& consumer, const std::string& from);

  KubeClient& client_;
  Resource resource_;
  std::string ns_;
  WatcherOptions options_;
  std::shared_ptr<Clock> clock_;
  WatchState state_;
};

}  // namespace wscp::kube
