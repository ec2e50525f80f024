#include "kube/event_recorder.h"

#include <algorithm>
#include <cstdio>

#include "kube/api_error.h"
#include "kube/micro_time.h"
#include "kube/object.h"

namespace wscp::kube {
namespace {

constexpr std::size_t kMaxNote = 1024;
constexpr std::size_t kMaxShort = 128;

// At most `max` bytes, never cutting a UTF-8 sequence.
std::string cut(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

// "<regarding>.<hex nanoseconds>"; `stamp` is unique per recorder.
std::string event_name(const std::string& regarding, std::uint64_t stamp) {
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".%llx", static_cast<unsigned long long>(stamp));
  return cut(regarding, 253 - std::string_view(suffix).size()) + suffix;
}

}  // namespace

ObjectReference ObjectReference::of(const Resource& r, const Json& object) {
  ObjectReference ref;
  auto text_or = [&](const char* key, std::string fallback) {
    if (!object.is_object()) return fallback;
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
  };
  ref.api_version = text_or("apiVersion", r.api_version());
  ref.kind = text_or("kind", r.kind);
  ref.ns = r.namespaced ? namespace_of(object) : std::string();
  ref.name = name_of(object);
  ref.uid = uid_of(object);
  return ref;
}

Json ObjectReference::to_json() const {
  Json j = {{"apiVersion", api_version}, {"kind", kind}, {"name", name}};
  if (!ns.empty()) j["namespace"] = ns;
  if (!uid.empty()) j["uid"] = uid;
  return j;
}

KubeEventRecorder::KubeEventRecorder(KubeClient& client, EventRecorderConfig config, std::shared_ptr<Clock> clock)
    : client_(client), config_(std::move(config)), clock_(std::move(clock)) {}

std::uint64_t KubeEventRecorder::next_stamp(std::chrono::system_clock::time_point wall) {
  const auto ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(wall.time_since_epoch()).count());
  last_stamp_ = std::max(ns, last_stamp_ + 1);
  return last_stamp_;
}

void KubeEventRecorder::forget_old(Clock::time_point now) {
  for (auto it = series_.begin(); it != series_.end();) {
    it = now - it->second.last > config_.dedup_window ? series_.erase(it) : std::next(it);
  }
  while (series_.size() >= config_.max_tracked && !series_.empty()) {
    auto oldest = series_.begin();
    for (auto it = series_.begin(); it != series_.end(); ++it) {
      if (it->second.last < oldest->second.last) oldest = it;
    }
    series_.erase(oldest);
  }
}

Status KubeEventRecorder::record(const ObjectReference& regarding, EventType type, std::string_view reason,
                                 std::string_view action, std::string_view note) {
  const std::string type_name = type == EventType::kWarning ? "Warning" : "Normal";
  const std::string reason_text = cut(reason, kMaxShort);
  const std::string action_text = cut(action, kMaxShort);
  const std::string note_text = cut(note, kMaxNote);
  const std::string key = regarding.uid + "\n" + regarding.kind + "\n" + regarding.ns + "\n" + regarding.name + "\n" +
                          type_name + "\n" + reason_text + "\n" + action_text + "\n" + note_text;
  const std::string what = "record event " + reason_text + " about " + regarding.kind + " " +
                           object_key(regarding.ns, regarding.name);

  std::lock_guard lock(mu_);
  const auto now = clock_->now();
  const auto wall = clock_->wall_now();
  forget_old(now);

  if (auto it = series_.find(key); it != series_.end()) {
    Series& s = it->second;
    const Json patch = {{"series", {{"count", s.count + 1}, {"lastObservedTime", format_micro_time(wall)}}}};
    auto patched = client_.patch(resources::kEvents, s.ns, s.name, patch);
    if (patched) {
      ++s.count;
      s.last = now;
      return Ok{};
    }
    if (!is_not_found(patched.error())) return patched.error().wrap(what);
    series_.erase(it);  // the Event expired on the server: start again
  }

  // Events about cluster-scoped objects live in "default".
  const std::string ns = regarding.ns.empty() ? "default" : regarding.ns;
  Json event = {
      {"metadata", {{"name", event_name(regarding.name, next_stamp(wall))}, {"namespace", ns}}},
      {"eventTime", format_micro_time(wall)},
      {"reportingController", config_.reporting_controller},
      {"reportingInstance", cut(config_.reporting_instance, kMaxShort)},
      {"action", action_text},
      {"reason", reason_text},
      {"regarding", regarding.to_json()},
      {"note", note_text},
      {"type", type_name},
  };
  auto created = client_.create(resources::kEvents, event);
  if (!created) return created.error().wrap(what);
  series_[key] = Series{ns, name_of(*created), 1, now};
  return Ok{};
}

}  // namespace wscp::kube
