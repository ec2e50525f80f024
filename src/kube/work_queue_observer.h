#pragma once

#include <chrono>
#include <cstddef>

namespace wscp::kube {

// What a WorkQueue reports, so that its owner can export depth and latency
// (e.g. to Prometheus) without the queue depending on a metrics library.
// Called with the queue's lock held: implementations must be quick and must
// not call back into the queue. Every method has a no-op default.
class WorkQueueObserver {
 public:
  using Duration = std::chrono::steady_clock::duration;
  virtual ~WorkQueueObserver() = default;

  // The number of keys ready and waiting for a worker changed.
  virtual void on_depth(std::size_t /*depth*/) {}
  // A key was added that was not already pending (duplicates are not counted).
  virtual void on_add() {}
  // A worker took a key that had waited this long since it was added (or,
  // for a delayed key, since its delay ran out).
  virtual void on_queue_latency(Duration /*waited*/) {}
  // A worker finished a key after this long.
  virtual void on_work_duration(Duration /*took*/) {}
  // A key was put back with add_rate_limited().
  virtual void on_retry() {}
};

}  // namespace wscp::kube
