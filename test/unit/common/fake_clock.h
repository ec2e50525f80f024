#pragma once

#include "common/clock.h"

namespace wscp::testing {

// Time that moves only when something sleeps.
class FakeClock final : public Clock {
 public:
  time_point now() const override { return now_; }
  std::chrono::system_clock::time_point wall_now() const override {
    return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
        now_.time_since_epoch()));
  }
  void sleep_for(std::chrono::milliseconds d) override { now_ += d; }

 private:
  time_point now_{};
};

}  // namespace wscp::testing
