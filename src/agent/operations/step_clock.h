#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/operation.h"
#include "metrics/agent_metrics.h"

namespace wscp::agent::operations {

// Turns the progress an operation reports into the durations of its steps
// and the bytes it moved, for the operation's result and the step metrics.
// The phases report stages as they go (Podman's "checkpoint" from the
// freeze request, "upload" from the archive's first byte, "download",
// "restore" from the import request, "settle" once Podman is done); a step
// lasts from its stage's first report to the next step's first report, or
// to its own last report:
//   dump      "checkpoint" until the first "upload" (CRIU's dump: Podman's
//             first archive byte comes after it)
//   upload    the first to the last "upload" report
//   download  the first to the last "download" report
//   restore   "restore" until "settle" (Podman's import and CRIU's restore)
//   settle    "settle" until the operation ends (running and stable)
// freeze comes from CRIU's own statistics, not from here. Reports may come
// from several threads (a cut-through restore downloads while Podman
// imports).
class StepClock {
 public:
  using Clock = std::chrono::steady_clock;

  void record(const Progress& p, Clock::time_point at = Clock::now());
  // Records, then passes the report on to `next` (may be empty).
  ProgressFn tee(ProgressFn next);

  // The steps seen, measured up to `end` (the operation's end).
  std::map<metrics::Step, std::chrono::milliseconds> durations(Clock::time_point end = Clock::now()) const;
  // Bytes reported under the stages that move archives and images to the
  // store ("upload", "image upload") or from it ("download", "image
  // download"). A stage that starts again from zero (the next container of
  // a project) adds to what came before.
  std::uint64_t bytes(metrics::Direction direction) const;

 private:
  struct Span {
    Clock::time_point first;
    Clock::time_point last;
    std::uint64_t bytes_before = 0;  // of earlier runs of the stage
    std::uint64_t bytes_now = 0;     // of the run reporting now
  };
  const Span* find(const std::string& stage) const;

  mutable std::mutex mutex_;
  std::map<std::string, Span> spans_;
};

// The step names an operation's result lists ("dump", "upload", ...).
std::map<std::string, std::int64_t> step_durations_ms(const std::map<metrics::Step, std::chrono::milliseconds>& steps);

}  // namespace wscp::agent::operations
