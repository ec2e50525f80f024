#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/operation.h"
#include "metrics/agent_metrics.h"

namespace wscp::agent::operations {

// Turns the progress an operation reports into the durations of its steps
// and the bytes it moved, for the operation's result and the step metrics.
// The phases report stages as they go, one container after another:
// Podman's "checkpoint" at the freeze request, "upload" from the archive's
// first byte (and "image upload"), "restore" at the import request and
// again when Podman has read the archive's end, "download" while the
// archive (or an image) is read from the store, "settle" once Podman has
// restored. The time from one report to the next belongs to the stage of
// the earlier one, summed over containers:
//   dump      after "checkpoint" (CRIU's dump: Podman's first archive byte
//             comes after it)
//   upload    after "upload" and "image upload"
//   download  after "download" (the archive streams into Podman's import)
//   restore   after "restore" (Podman's import begins; CRIU restores once
//             the archive's end is in)
//   settle    after "settle", and from the last report to the end when
//             that is "settle"
// Other stages count for no step. freeze comes from CRIU's own statistics,
// not from here. Thread-safe.
class StepClock {
 public:
  using Clock = std::chrono::steady_clock;

  void record(const Progress& p, Clock::time_point at = Clock::now());
  // Records, then passes the report on to `next` (may be empty).
  ProgressFn tee(ProgressFn next);

  // The steps seen, measured up to `end` (the operation's end).
  std::map<metrics::Step, std::chrono::milliseconds> durations(Clock::time_point end = Clock::now()) const;
  // Bytes reported under the stages that move archives and images to the
  // store ("upload", "image upload") or from it ("download"): what Podman
  // wrote or read, before compression and encryption. Each run of reports
  // of a stage (until another stage reports, or its count starts again)
  // adds its last count.
  std::uint64_t bytes(metrics::Direction direction) const;

 private:
  struct Last {
    std::string stage;
    Clock::time_point at;
    std::uint64_t bytes = 0;
  };
  std::optional<metrics::Step> step_of(const std::string& stage) const;
  void close_run_locked();

  mutable std::mutex mutex_;
  std::optional<Last> last_;
  std::map<metrics::Step, Clock::duration> spent_;
  std::map<std::string, std::uint64_t> bytes_;  // by stage, of runs that ended
};

// The step names an operation's result lists ("dump", "upload", ...).
std::map<std::string, std::int64_t> step_durations_ms(const std::map<metrics::Step, std::chrono::milliseconds>& steps);

}  // namespace wscp::agent::operations
