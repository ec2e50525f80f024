#pragma once

#include <chrono>
#include <memory>

namespace wscp {

// Time as a side effect: logic that waits or measures is handed a Clock so
// that tests can run it without real waiting.
class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual time_point now() const = 0;
  virtual std::chrono::system_clock::time_point wall_now() const = 0;
  virtual void sleep_for(std::chrono::milliseconds d) = 0;
};

// The real clock.
std::shared_ptr<Clock> system_clock();

}  // namespace wscp
