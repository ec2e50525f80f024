#include "agent/operations/step_clock.h"

namespace wscp::agent::operations {

std::optional<metrics::Step> StepClock::step_of(const std::string& stage) const {
  if (stage == "checkpoint") return metrics::Step::kDump;
  if (stage == "upload" || stage == "image upload") return metrics::Step::kUpload;
  if (stage == "download") return metrics::Step::kDownload;
  if (stage == "restore") return metrics::Step::kRestore;
  if (stage == "settle") return metrics::Step::kSettle;
  return std::nullopt;
}

void StepClock::close_run_locked() {
  if (last_) bytes_[last_->stage] += last_->bytes;
}

void StepClock::record(const Progress& p, Clock::time_point at) {
  std::lock_guard lock(mutex_);
  if (last_) {
    if (auto step = step_of(last_->stage); step && at > last_->at) spent_[*step] += at - last_->at;
    // Another stage, or the same one counting from the start again (the
    // next container's archive): the run of reports before it ended.
    if (p.stage != last_->stage || p.bytes_done < last_->bytes) close_run_locked();
  }
  last_ = Last{p.stage, at, p.bytes_done};
}

ProgressFn StepClock::tee(ProgressFn next) {
  return [this, next = std::move(next)](const Progress& p) {
    record(p);
    if (next) next(p);
  };
}

std::map<metrics::Step, std::chrono::milliseconds> StepClock::durations(Clock::time_point end) const {
  std::lock_guard lock(mutex_);
  std::map<metrics::Step, Clock::duration> spent = spent_;
  if (last_) {
    // A step seen only at the last report still happened (0 ms), and
    // settling lasts until the operation ends.
    if (auto step = step_of(last_->stage)) {
      auto& d = spent[*step];
      if (*step == metrics::Step::kSettle && end > last_->at) d += end - last_->at;
    }
  }
  std::map<metrics::Step, std::chrono::milliseconds> out;
  for (const auto& [step, d] : spent) out[step] = std::chrono::duration_cast<std::chrono::milliseconds>(d);
  return out;
}

std::uint64_t StepClock::bytes(metrics::Direction direction) const {
  std::lock_guard lock(mutex_);
  auto of = [&](const char* stage) {
    auto it = bytes_.find(stage);
    std::uint64_t total = it == bytes_.end() ? 0 : it->second;
    if (last_ && last_->stage == stage) total += last_->bytes;
    return total;
  };
  return direction == metrics::Direction::kUpload ? of("upload") + of("image upload") : of("download");
}

std::map<std::string, std::int64_t> step_durations_ms(const std::map<metrics::Step, std::chrono::milliseconds>& steps) {
  std::map<std::string, std::int64_t> out;
  for (const auto& [step, d] : steps) out[std::string(metrics::to_string(step))] = d.count();
  return out;
}

}  // namespace wscp::agent::operations
