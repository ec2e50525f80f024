#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace wscp::agent::testing {

// Polls `done` every 5 ms until it holds or `timeout` passes; whether it held.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace wscp::agent::testing
