#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/operation.h"

namespace wscp::store {

using SteadyNow = std::function<std::chrono::steady_clock::time_point()>;

// Turns byte counts into Progress reports (bytes, total, rate), at most every
// `interval` (the first bytes at once), so a hot loop can call add() for
// every block.
class ProgressMeter {
 public:
  ProgressMeter(const OperationContext& ctx, std::string stage, std::optional<std::uint64_t> total = std::nullopt,
                SteadyNow now = &std::chrono::steady_clock::now,
                std::chrono::milliseconds interval = std::chrono::milliseconds(500));

  void add(std::uint64_t bytes);
  // Reports the final figures regardless of the interval.
  void finish();

 private:
  void report();

  const OperationContext& ctx_;
  std::string stage_;
  std::optional<std::uint64_t> total_;
  SteadyNow now_;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
  std::uint64_t done_ = 0;
  bool reported_ = false;
};

}  // namespace wscp::store
