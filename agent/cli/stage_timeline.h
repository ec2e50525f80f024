#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "common/operation.h"

namespace wscp::agent {

// When each stage an operation reported was first and last heard of, in
// milliseconds from the timeline's start: where a migration's time went
// ("checkpoint" from the freeze request, "upload" from Podman's first archive
// byte to its last, "download" from the destination's first byte to the
// release of the archive's tail, "restore" from the import request).
// Reports may come from several threads at once (cut-through runs both legs).
class StageTimeline {
 public:
  using Clock = std::chrono::steady_clock;

  explicit StageTimeline(Clock::time_point start = Clock::now())
      : start_(start), started_at_(std::chrono::system_clock::now() - (Clock::now() - start)) {}

  void record(const Progress& p, Clock::time_point at = Clock::now());
  // Records, then passes the report on to `next` (may be empty).
  ProgressFn tee(ProgressFn next);

  // {"startedAtMs": <Unix ms of the start>, "upload": {"firstMs": 1200, "lastMs": 9800}, ...}
  nlohmann::json to_json() const;

 private:
  struct Span {
    std::int64_t first_ms = 0;
    std::int64_t last_ms = 0;
  };
  Clock::time_point start_;
  std::chrono::system_clock::time_point started_at_;  // the same instant, on the wall clock
  mutable std::mutex mutex_;
  std::map<std::string, Span> stages_;
};

}  // namespace wscp::agent
