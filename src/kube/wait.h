#pragma once

#include <algorithm>
#include <chrono>

#include "common/clock.h"
#include "common/operation.h"

namespace wscp::kube {

// Sleeps on `clock` for `d`, in short slices so that cancellation is noticed
// soon. Returns false when cancelled.
inline bool sleep_unless_cancelled(Clock& clock, std::chrono::milliseconds d, const CancelToken& cancel) {
  constexpr std::chrono::milliseconds kSlice{50};
  const auto until = clock.now() + d;
  while (!cancel.cancelled()) {
    const auto now = clock.now();
    if (now >= until) return true;
    clock.sleep_for(std::min<std::chrono::milliseconds>(
        kSlice, std::chrono::duration_cast<std::chrono::milliseconds>(until - now) + std::chrono::milliseconds(1)));
  }
  return false;
}

}  // namespace wscp::kube
