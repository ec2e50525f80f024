#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace wscp {

// Cooperative cancellation, shared between the caller and the work.
class CancelToken {
 public:
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> cancelled_{false};
};

struct Progress {
  std::string stage;                    // "checkpoint", "upload", "restore", ...
  std::uint64_t bytes_done = 0;
  std::optional<std::uint64_t> bytes_total;  // when known
  double bytes_per_second = 0;
};

using ProgressFn = std::function<void(const Progress&)>;

// What every long operation is handed: an id (for journals and logs), where
// to report progress, and how to learn that it was cancelled.
struct OperationContext {
  std::string operation_id;
  ProgressFn on_progress;
  std::shared_ptr<CancelToken> cancel = std::make_shared<CancelToken>();

  bool cancelled() const { return cancel && cancel->cancelled(); }
  void report(const Progress& p) const {
    if (on_progress) on_progress(p);
  }
};

}  // namespace wscp
