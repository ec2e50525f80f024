#include "agent/operations/memory_budget.h"

#include <algorithm>
#include <chrono>

namespace wscp::agent::operations {

MemoryBudget::Grant& MemoryBudget::Grant::operator=(Grant&& o) noexcept {
  if (this != &o) {
    release();
    budget_ = o.budget_;
    bytes_ = o.bytes_;
    o.budget_ = nullptr;
  }
  return *this;
}

void MemoryBudget::Grant::release() {
  if (budget_ != nullptr) budget_->give_back(bytes_);
  budget_ = nullptr;
}

Result<MemoryBudget::Grant> MemoryBudget::acquire(std::uint64_t bytes, const CancelToken* cancel) {
  const std::uint64_t need = std::min(bytes, total_);
  if (need == 0) return Grant(this, 0);  // holds nothing: never waits behind others
  std::unique_lock lock(mu_);
  const std::uint64_t ticket = next_ticket_++;
  waiting_.push_back(ticket);
  for (;;) {
    if (cancel != nullptr && cancel->cancelled()) {
      waiting_.erase(std::find(waiting_.begin(), waiting_.end(), ticket));
      cv_.notify_all();
      return Error(ErrorCode::kCancelled, "cancelled while waiting for the memory budget");
    }
    if (waiting_.front() == ticket && used_ + need <= total_) break;
    // Cancellation is a flag, not a notification: look again now and then.
    cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
  waiting_.pop_front();
  used_ += need;
  peak_ = std::max(peak_, used_);
  cv_.notify_all();
  return Grant(this, need);
}

void MemoryBudget::poke() { cv_.notify_all(); }

void MemoryBudget::give_back(std::uint64_t bytes) {
  std::lock_guard lock(mu_);
  used_ -= bytes;
  cv_.notify_all();
}

std::uint64_t MemoryBudget::in_use() const {
  std::lock_guard lock(mu_);
  return used_;
}
std::uint64_t MemoryBudget::peak() const {
  std::lock_guard lock(mu_);
  return peak_;
}

}  // namespace wscp::agent::operations
