#include "agent/operations/step_clock.h"

namespace wscp::agent::operations {

std::optional<metrics::Step> StepClock::step_of(const Progress& p) {
  if (p.stage == "checkpoint") return p.bytes_done == 0 ? metrics::Step::kDump : metrics::Step::kUpload;
  if (p.stage == "upload" || p.stage == "image upload") return metrics::Step::kUpload;
  if (p.stage == "download") return metrics::Step::kDownload;
  if (p.stage == "restore" || p.stage == "awaiting-podman") return metrics::Step::kRestore;
  if (p.stage == "settle") return metrics::Step::kSettle;
  return std::nullopt;
}

void StepClock::record(const Progress& p, Clock::time_point at) {
  std::lock_guard lock(mutex_);
  if (last_ && last_->step && at > last_->at) spent_[*last_->step] += at - last_->at;
  last_ = Last{step_of(p), at};
  Count& c = bytes_[p.stage];
  if (p.bytes_done < c.now) c.done += c.now;  // the next archive or image began
  c.now = p.bytes_done;
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
  // A step seen only at the last report still happened (0 ms), and
  // settling lasts until the operation ends.
  if (last_ && last_->step) {
    auto& d = spent[*last_->step];
    if (*last_->step == metrics::Step::kSettle && end > last_->at) d += end - last_->at;
  }
  std::map<metrics::Step, std::chrono::milliseconds> out;
  for (const auto& [step, d] : spent) out[step] = std::chrono::duration_cast<std::chrono::milliseconds>(d);
  return out;
}

std::uint64_t StepClock::bytes(metrics::Direction direction) const {
  std::lock_guard lock(mutex_);
  auto of = [&](const char* stage) {
    auto it = bytes_.find(stage);
    return it == bytes_.end() ? std::uint64_t{0} : it->second.done + it->second.now;
  };
  return direction == metrics::Direction::kUpload ? of("upload") + of("image upload") : of("download");
}

std::map<std::string, std::int64_t> step_durations_ms(const std::map<metrics::Step, std::chrono::milliseconds>& steps) {
  std::map<std::string, std::int64_t> out;
  for (const auto& [step, d] : steps) out[std::string(metrics::to_string(step))] = d.count();
  return out;
}

}  // namespace wscp::agent::operations
