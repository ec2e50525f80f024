#include "agent/operations/step_clock.h"

namespace wscp::agent::operations {

void StepClock::record(const Progress& p, Clock::time_point at) {
  std::lock_guard lock(mutex_);
  auto [it, first] = spans_.try_emplace(p.stage, Span{at, at});
  Span& s = it->second;
  s.last = at;
  if (!first && p.bytes_done < s.bytes_now) s.bytes_before += s.bytes_now;
  s.bytes_now = p.bytes_done;
}

ProgressFn StepClock::tee(ProgressFn next) {
  return [this, next = std::move(next)](const Progress& p) {
    record(p);
    if (next) next(p);
  };
}

const StepClock::Span* StepClock::find(const std::string& stage) const {
  auto it = spans_.find(stage);
  return it == spans_.end() ? nullptr : &it->second;
}

std::map<metrics::Step, std::chrono::milliseconds> StepClock::durations(Clock::time_point end) const {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  std::lock_guard lock(mutex_);
  std::map<metrics::Step, milliseconds> out;
  auto span = [&](metrics::Step step, Clock::time_point from, Clock::time_point to) {
    out[step] = to > from ? duration_cast<milliseconds>(to - from) : milliseconds(0);
  };
  const Span* checkpoint = find("checkpoint");
  const Span* upload = find("upload");
  if (checkpoint) span(metrics::Step::kDump, checkpoint->first, upload ? upload->first : checkpoint->last);
  if (upload) span(metrics::Step::kUpload, upload->first, upload->last);
  if (const Span* download = find("download")) span(metrics::Step::kDownload, download->first, download->last);
  const Span* settle = find("settle");
  if (const Span* restore = find("restore")) span(metrics::Step::kRestore, restore->first, settle ? settle->first : restore->last);
  if (settle) span(metrics::Step::kSettle, settle->first, end);
  return out;
}

std::uint64_t StepClock::bytes(metrics::Direction direction) const {
  std::lock_guard lock(mutex_);
  const bool up = direction == metrics::Direction::kUpload;
  std::uint64_t total = 0;
  for (const char* stage : {up ? "upload" : "download", up ? "image upload" : "image download"})
    if (const Span* s = find(stage)) total += s->bytes_before + s->bytes_now;
  return total;
}

std::map<std::string, std::int64_t> step_durations_ms(const std::map<metrics::Step, std::chrono::milliseconds>& steps) {
  std::map<std::string, std::int64_t> out;
  for (const auto& [step, d] : steps) out[std::string(metrics::to_string(step))] = d.count();
  return out;
}

}  // namespace wscp::agent::operations
