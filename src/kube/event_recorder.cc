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
  while (!order_.empty()) {
    auto oldest = series_.find(order_.front());
    if (now - oldest->second.last <= config_.dedup_window) return;
    series_.erase(oldest);
    order_.pop_front();
  }
}

void KubeEventRecorder::remember(const std::string& key, const std::string& ns, const std::string& name, int count,
                                 Clock::time_point now) {
  auto it = series_.find(key);
  if (it == series_.end()) {
    while (!order_.empty() && series_.size() >= config_.max_tracked) {
      series_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(key);
    series_.emplace(key, Series{ns, name, count, now, std::prev(order_.end())});
    return;
  }
  it->second.ns = ns;
  it->second.name = name;
  it->second.count = std::max(it->second.count, count);
  it->second.last = now;
  order_.splice(order_.end(), order_, it->second.in_order);
}

// The API calls are made without the lock, so that workers recording
// events at once do not wait for each other's round trips.
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

  const auto now = clock_->now();
  const auto wall = clock_->wall_now();
  std::optional<Series> known;
  {
    std::lock_guard lock(mu_);
    forget_old(now);
    if (auto it = series_.find(key); it != series_.end()) known = it->second;
  }
  if (known) {
    const Json patch = {{"series", {{"count", known->count + 1}, {"lastObservedTime", format_micro_time(wall)}}}};
    auto patched = client_.patch(resources::kEvents, known->ns, known->name, patch);
    if (patched) {
      std::lock_guard lock(mu_);
      remember(key, known->ns, known->name, known->count + 1, now);
      return Ok{};
    }
    if (!is_not_found(patched.error())) return patched.error().wrap(what);
    // The Event expired on the server: start again.
  }

  // Events about cluster-scoped objects live in "default".
  const std::string ns = regarding.ns.empty() ? "default" : regarding.ns;
  std::uint64_t stamp = 0;
  {
    std::lock_guard lock(mu_);
    stamp = next_stamp(wall);
  }
  Json event = {
      {"metadata", {{"name", event_name(regarding.name, stamp)}, {"namespace", ns}}},
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
  // A create sent again on a kept connection that closed under it may find
  // its own first copy: the Event is there.
  if (!created && is_already_exists(created.error())) created = event;
  if (!created) return created.error().wrap(what);
  std::lock_guard lock(mu_);
  if (auto it = series_.find(key); it != series_.end() && known) {
    // Replace the expired series (a count from another thread's patch of it does not carry over).
    order_.erase(it->second.in_order);
    series_.erase(it);
  }
  remember(key, ns, name_of(*created), 1, now);
  return Ok{};
}

}  // namespace wscp::kube
