#include "store/progress.h"

namespace wscp::store {

ProgressMeter::ProgressMeter(const OperationContext& ctx, std::string stage, std::optional<std::uint64_t> total,
                             SteadyNow now, std::chrono::milliseconds interval)
    : ctx_(ctx), stage_(std::move(stage)), total_(total), now_(std::move(now)), interval_(interval) {
  start_ = last_ = now_();
}

void ProgressMeter::add(std::uint64_t bytes) {
  done_ += bytes;
  if (!ctx_.on_progress) return;
  // The first bytes are reported at once: they mark when the stage began.
  if (!reported_ || now_() - last_ >= interval_) report();
}

void ProgressMeter::finish() {
  if (ctx_.on_progress) report();
}

void ProgressMeter::report() {
  reported_ = true;
  last_ = now_();
  double seconds = std::chrono::duration<double>(last_ - start_).count();
  Progress p;
  p.stage = stage_;
  p.bytes_done = done_;
  p.bytes_total = total_;
  p.bytes_per_second = seconds > 0 ? static_cast<double>(done_) / seconds : 0;
  ctx_.report(p);
}

}  // namespace wscp::store
