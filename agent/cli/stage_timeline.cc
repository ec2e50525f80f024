#include "agent/cli/stage_timeline.h"

namespace wscp::agent {

void StageTimeline::record(const Progress& p, Clock::time_point at) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at - start_).count();
  std::lock_guard lock(mutex_);
  auto [it, added] = stages_.try_emplace(p.stage, Span{ms, ms});
  if (!added) it->second.last_ms = ms;
}

ProgressFn StageTimeline::tee(ProgressFn next) {
  return [this, next = std::move(next)](const Progress& p) {
    record(p);
    if (next) next(p);
  };
}

nlohmann::json StageTimeline::to_json() const {
  std::lock_guard lock(mutex_);
  nlohmann::json j = nlohmann::json::object();
  j["startedAtMs"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(started_at_.time_since_epoch()).count();
  for (const auto& [stage, span] : stages_) j[stage] = {{"firstMs", span.first_ms}, {"lastMs", span.last_ms}};
  return j;
}

}  // namespace wscp::agent
