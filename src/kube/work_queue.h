#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "common/clock.h"
#include "kube/rate_limiter.h"
#include "kube/work_queue_observer.h"

namespace wscp::kube {

struct WorkQueueOptions {
  RateLimiterOptions rate_limit;
  std::shared_ptr<WorkQueueObserver> observer;  // optional
};

// The controller's queue of keys ("namespace/name") to reconcile, in the
// manner of client-go's rate-limited work queue:
//  - a key is pending at most once: adding a pending key again does nothing;
//  - a key handed out by get() is not handed out again until done(key); if
//    it was added meanwhile, done() queues it again, so no two workers ever
//    hold the same key;
//  - add_after() holds a key back for a while (an earlier time wins when the
//    key is already held back), and add_rate_limited() holds it back by the
//    larger of its per-key exponential backoff and an overall token bucket.
//
// Time comes from the Clock. Held-back keys become ready when a caller looks
// (get, try_get, next_ready_in, len); no extra thread moves them. A blocked
// get() waits in real time for the clock's remaining delay, then reads the
// clock again; with a clock that is moved by hand, call recheck_clock() after
// moving it, or drive the queue without blocking: next_ready_in() says how
// long until a key is ready, try_get() takes one if it is.
//
// Thread-safe.
class WorkQueue {
 public:
  using Duration = std::chrono::steady_clock::duration;

  explicit WorkQueue(WorkQueueOptions options = {}, std::shared_ptr<Clock> clock = system_clock());
  ~WorkQueue();  // shut_down()
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Ignored after shut_down().
  void add(const std::string& key);
  void add_after(const std::string& key, Duration delay);
  void add_rate_limited(const std::string& key);

  // The key succeeded (or will never succeed): its backoff starts over.
  void forget(const std::string& key);
  // How many times add_rate_limited() was called since the last forget().
  std::size_t num_requeues(const std::string& key) const;

  // The next ready key, blocking until there is one; nullopt once shut down
  // (keys still pending then are dropped). The caller owns the key until
  // done(key).
  std::optional<std::string> get();
  // The next ready key if there is one now; never blocks.
  std::optional<std::string> try_get();
  // The caller has finished with a key it got. A key not being processed is
  // ignored.
  void done(const std::string& key);

  // 0 when a key is ready now; the time until the earliest held-back key is
  // ready; nullopt when nothing is pending (keys being processed aside).
  std::optional<Duration> next_ready_in();
  // Wakes blocked get() calls so that they read the clock again.
  void recheck_clock();

  // get() returns nullopt from now on, in every thread.
  void shut_down();
  // shut_down(), then waits until every key handed out is done(). Must not
  // be called by a thread that holds a key.
  void shut_down_with_drain();
  bool shutting_down() const;

  // Keys ready and waiting for a worker.
  std::size_t len();
  // Keys held back by add_after() or add_rate_limited().
  std::size_t num_waiting() const;
  // Keys handed out and not yet done().
  std::size_t num_processing() const;

 private:
  // Held-back keys in the order they become ready (ties: the order added).
  using DelayedKeys = std::map<std::pair<Clock::time_point, std::uint64_t>, std::string>;

  void add_locked(const std::string& key, Clock::time_point pending_since);
  void add_after_locked(const std::string& key, Duration delay, Clock::time_point now);
  void promote_due_locked(Clock::time_point now);
  std::optional<std::string> take_locked(Clock::time_point now);
  void report_depth_locked();

  std::shared_ptr<Clock> clock_;
  std::shared_ptr<WorkQueueObserver> observer_;

  mutable std::mutex mu_;
  std::condition_variable ready_cv_;  // a key became ready, the clock moved or shutdown
  std::condition_variable idle_cv_;   // the last key being processed was done
  RateLimiter limiter_;
  std::deque<std::string> ready_;
  // Pending keys (ready, held back keys excluded, or re-added while being
  // processed) and since when, for the queue latency.
  std::unordered_map<std::string, Clock::time_point> pending_;
  // Keys handed out and when.
  std::unordered_map<std::string, Clock::time_point> processing_;
  DelayedKeys delayed_;
  std::unordered_map<std::string, DelayedKeys::iterator> delayed_by_key_;
  std::uint64_t next_sequence_ = 0;
  bool shutting_down_ = false;
};

}  // namespace wscp::kube
