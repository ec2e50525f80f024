#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "common/result.h"
#include "kube/kube_client.h"

namespace wscp::kube {

struct BackoffPolicy {
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{30'000};
  double factor = 2.0;
  double jitter = 0.2;  // each delay is up to this fraction longer, so many clients do not reconnect in step

  // The delay before attempt number `failures` (1 = after the first failure).
  // `random01` is a number in [0, 1).
  std::chrono::milliseconds delay(int failures, double random01 = 0.0) const;
};

// The list-then-watch cycle as a pure state machine (no HTTP, no clock):
//   list -> watch from the list's resourceVersion (with bookmarks) -> every
//   event (bookmarks included) advances the version -> when the watch ends,
//   watch again from it; after an error, with exponential backoff; on 410
//   Gone (the version was compacted away) list again.
// The driver asks next(), does it, and reports the outcome.
class WatchState {
 public:
  enum class Step { kList, kWatch };
  struct Action {
    Step step = Step::kList;
    std::string resource_version;        // where the watch starts
    std::chrono::milliseconds delay{0};  // wait this long first
  };

  explicit WatchState(BackoffPolicy backoff = {}, std::function<double()> random01 = nullptr);

  Action next() const { return next_; }

  void list_succeeded(const std::string& resource_version);
  void list_failed(const Error& error);
  // An event of the running watch, with the object's resourceVersion.
  void event_received(WatchEventType type, const std::string& resource_version);
  // The watch ended: Ok when the server closed it (timeoutSeconds), else why.
  void watch_ended(const Status& status);

  const std::string& resource_version() const { return resource_version_; }
  bool listed() const { return lists_ > 0; }
  std::size_t lists() const { return lists_; }
  int consecutive_failures() const { return failures_; }

 private:
  std::chrono::milliseconds backoff();

  BackoffPolicy policy_;
  std::function<double()> random01_;
  Action next_;
  std::string resource_version_;
  std::size_t lists_ = 0;
  int failures_ = 0;
  int gone_without_events_ = 0;
  bool events_since_watch_ = false;
};

}  // namespace wscp::kube
