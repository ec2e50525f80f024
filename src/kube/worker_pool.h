#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "kube/work_queue.h"

namespace wscp::kube {

// What a handler decided about one key, as controller-runtime's reconcile
// result: what the queue does with the key next.
class WorkResult {
 public:
  using Duration = std::chrono::steady_clock::duration;
  enum class Kind {
    kDone,          // finished: the backoff is forgotten, nothing is queued
    kRequeueAfter,  // finished for now: look again after a delay (backoff forgotten)
    kRetry,         // failed: retried after the rate limiter's delay
    kTerminal,      // failed for good: retrying cannot help, so it is not retried
  };

  static WorkResult done() { return WorkResult(Kind::kDone, {}, std::nullopt); }
  static WorkResult requeue_after(Duration delay) { return WorkResult(Kind::kRequeueAfter, delay, std::nullopt); }
  static WorkResult retry(Error error) { return WorkResult(Kind::kRetry, {}, std::move(error)); }
  static WorkResult terminal(Error error) { return WorkResult(Kind::kTerminal, {}, std::move(error)); }

  Kind kind() const { return kind_; }
  Duration delay() const { return delay_; }                       // kRequeueAfter
  const std::optional<Error>& error() const { return error_; }  // kRetry, kTerminal

 private:
  WorkResult(Kind kind, Duration delay, std::optional<Error> error)
      : kind_(kind), delay_(delay), error_(std::move(error)) {}

  Kind kind_;
  Duration delay_;
  std::optional<Error> error_;
};

using KeyHandler = std::function<WorkResult(const std::string& key)>;
// Told of every failed key, for logs and events; `will_retry` is false for a
// terminal failure.
using KeyErrorSink = std::function<void(const std::string& key, const Error& error, bool will_retry)>;

// Does what `result` asks with `key` (which the caller got from `queue`),
// then marks it done.
void finish_key(WorkQueue& queue, const std::string& key, const WorkResult& result);

// N threads, each looping get -> handler(key) -> finish_key until the queue
// shuts down. The queue guarantees that no two of them hold the same key.
// A handler that throws counts as a failure to retry (the thread survives).
class WorkerPool {
 public:
  WorkerPool(WorkQueue& queue, std::size_t workers, KeyHandler handler, KeyErrorSink on_error = {});
  ~WorkerPool();  // stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Shuts the queue down and waits for the handlers in flight to return.
  // Idempotent. Never from a handler (it would wait for itself).
  void stop();

 private:
  void work();
  WorkResult handle(const std::string& key);

  WorkQueue& queue_;
  KeyHandler handler_;
  KeyErrorSink on_error_;
  std::vector<std::thread> threads_;
};

inline std::unique_ptr<WorkerPool> run_workers(WorkQueue& queue, std::size_t workers, KeyHandler handler,
                                               KeyErrorSink on_error = {}) {
  return std::make_unique<WorkerPool>(queue, workers, std::move(handler), std::move(on_error));
}

}  // namespace wscp::kube
