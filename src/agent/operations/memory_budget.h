#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>

#include "common/operation.h"
#include "common/result.h"

namespace wscp::agent::operations {

// One budget of buffer memory for every operation of the node: an
// operation is admitted once its expected need fits beside those already
// admitted. A need larger than the whole budget is admitted alone (it
// could never fit otherwise); a need of zero is admitted at once. Waiters
// are admitted in arrival order, so a
// large operation is not overtaken forever by small ones.
class MemoryBudget {
 public:
  explicit MemoryBudget(std::uint64_t total_bytes) : total_(total_bytes) {}

  class Grant {
   public:
    Grant() = default;
    Grant(Grant&& o) noexcept : budget_(o.budget_), bytes_(o.bytes_) { o.budget_ = nullptr; }
    Grant& operator=(Grant&& o) noexcept;
    Grant(const Grant&) = delete;
    Grant& operator=(const Grant&) = delete;
    ~Grant() { release(); }
    std::uint64_t bytes() const { return bytes_; }
    void release();

   private:
    friend class MemoryBudget;
    Grant(MemoryBudget* b, std::uint64_t bytes) : budget_(b), bytes_(bytes) {}
    MemoryBudget* budget_ = nullptr;
    std::uint64_t bytes_ = 0;
  };

  // Waits until `bytes` fit; kCancelled when `cancel` is set while waiting.
  Result<Grant> acquire(std::uint64_t bytes, const CancelToken* cancel = nullptr);
  // Wakes waiters so that they see a cancellation.
  void poke();

  std::uint64_t total() const { return total_; }
  std::uint64_t in_use() const;
  // The largest amount ever admitted at once.
  std::uint64_t peak() const;

 private:
  void give_back(std::uint64_t bytes);

  const std::uint64_t total_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t used_ = 0;
  std::uint64_t peak_ = 0;
  std::uint64_t next_ticket_ = 0;
  std::deque<std::uint64_t> waiting_;  // tickets, in arrival order
};

}  // namespace wscp::agent::operations
