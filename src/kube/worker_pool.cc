#include "kube/worker_pool.h"

#include <cassert>
#include <exception>

namespace wscp::kube {

void finish_key(WorkQueue& queue, const std::string& key, const WorkResult& result) {
  switch (result.kind()) {
    case WorkResult::Kind::kDone:
    case WorkResult::Kind::kTerminal:
      queue.forget(key);
      break;
    case WorkResult::Kind::kRequeueAfter:
      queue.forget(key);
      queue.add_after(key, result.delay());
      break;
    case WorkResult::Kind::kRetry:
      queue.add_rate_limited(key);
      break;
  }
  // Last: a key added above while it is still being processed is queued by done().
  queue.done(key);
}

WorkerPool::WorkerPool(WorkQueue& queue, std::size_t workers, KeyHandler handler, KeyErrorSink on_error)
    : queue_(queue), handler_(std::move(handler)), on_error_(std::move(on_error)) {
  assert(workers > 0 && handler_);
  threads_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::stop() {
  queue_.shut_down();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void WorkerPool::work() {
  while (const auto key = queue_.get()) {
    const WorkResult result = handle(*key);
    if (result.error() && on_error_) {
      try {
        on_error_(*key, *result.error(), result.kind() == WorkResult::Kind::kRetry);
      } catch (...) {
        // Reporting failed; the key is still finished below, never left held.
      }
    }
    finish_key(queue_, *key, result);
  }
}

WorkResult WorkerPool::handle(const std::string& key) {
  // Bad API data surfaces as exceptions from the JSON library; one bad object
  // must not take the worker down with it.
  try {
    return handler_(key);
  } catch (const std::exception& e) {
    return WorkResult::retry(Error(ErrorCode::kInternal, "handler of " + key + " threw: " + e.what()));
  } catch (...) {
    return WorkResult::retry(Error(ErrorCode::kInternal, "handler of " + key + " threw"));
  }
}

}  // namespace wscp::kube
