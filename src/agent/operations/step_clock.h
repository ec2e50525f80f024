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
// Podman's "checkpoint" at the freeze request (0 bytes) and when its answer
// ended (the archive's size), "upload" from the archive's first byte until
// the writer has stored the last segment (and "image upload"), "download"
// from the moment the archive (or an image) is asked of the store,
// "restore" at the import request and again when Podman has read the
// archive's end, "awaiting-podman" when Podman restores past the call's
// end, "settle" once Podman has restored. The time from one report to the
// next belongs to the step of the earlier one, summed over containers:
//   dump      after "checkpoint" of 0 bytes (CRIU's dump: Podman's first
//             archive byte comes after it)
//   upload    after "upload", "image upload", and "checkpoint" of the
//             archive's size (the last segments still being stored)
//   download  after "download" (a cut-through restore waits here for the
//             source; the archive streams into Podman's import)
//   restore   after "restore" and "awaiting-podman" (Podman's import
//             begins; CRIU restores once the archive's end is in)
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
  // wrote or read, before compression and encryption. A stage's count is
  // cumulative per archive or image; when it drops (the next one began),
  // the last count of the one before is kept and added.
  std::uint64_t bytes(metrics::Direction direction) const;

 private:
  struct Last {
    std::optional<metrics::Step> step;
    Clock::time_point at;
  };
  struct Count {
    std::uint64_t done = 0;  // of the archives and images before this one
    std::uint64_t now = 0;   // of this one so far
  };
  static std::optional<metrics::Step> step_of(const Progress& p);

  mutable std::mutex mutex_;
  std::optional<Last> last_;
  std::map<metrics::Step, Clock::duration> spent_;
  std::map<std::string, Count> bytes_;  // by stage
};

// The step names an operation's result lists ("dump", "upload", ...).
std::map<std::string, std::int64_t> step_durations_ms(const std::map<metrics::Step, std::chrono::milliseconds>& steps);

}  // namespace wscp::agent::operations
