#pragma once

#include <atomic>

#include "common/clock.h"

namespace wscp::testing {

// Time that moves only when something sleeps (from any thread).
class FakeClock final : public Clock {
 public:
  using duration = time_point::duration;
  time_point now() const override { return time_point(duration(now_.load())); }
  std::chrono::system_clock::time_point wall_now() const override {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(now().time_since_epoch()));
  }
  void sleep_for(std::chrono::milliseconds d) override {
    now_ += std::chrono::duration_cast<duration>(d).count();
  }

 private:
  std::atomic<duration::rep> now_{0};
};

}  // namespace wscp::testing
