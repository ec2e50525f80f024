#include "kube/watch_state.h"

#include <algorithm>
#include <cmath>

#include "kube/api_error.h"

namespace wscp::kube {

std::chrono::milliseconds BackoffPolicy::delay(int failures, double random01) const {
  if (failures <= 0) return std::chrono::milliseconds(0);
  double ms = static_cast<double>(initial.count()) * std::pow(factor, failures - 1);
  ms = std::min(ms, static_cast<double>(max.count()));
  ms *= 1.0 + jitter * std::clamp(random01, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

WatchState::WatchState(BackoffPolicy backoff, std::function<double()> random01)
    : policy_(backoff), random01_(std::move(random01)) {}

std::chrono::milliseconds WatchState::backoff() {
  ++failures_;
  return policy_.delay(failures_, random01_ ? random01_() : 0.0);
}

void WatchState::list_succeeded(const std::string& resource_version) {
  ++lists_;
  failures_ = 0;
  resource_version_ = resource_version;
  events_since_watch_ = false;
  next_ = {Step::kWatch, resource_version_, std::chrono::milliseconds(0)};
}

void WatchState::list_failed(const Error&) {
  next_ = {Step::kList, "", backoff()};
}

void WatchState::event_received(WatchEventType, const std::string& resource_version) {
  if (!resource_version.empty()) resource_version_ = resource_version;
  events_since_watch_ = true;
  failures_ = 0;
  gone_without_events_ = 0;
}

void WatchState::watch_ended(const Status& status) {
  const bool had_events = events_since_watch_;
  events_since_watch_ = false;
  if (status.ok()) {
    // A normal end (timeoutSeconds). One that brought nothing waits a little,
    // so a server that closes watches at once is not hammered.
    next_ = {Step::kWatch, resource_version_, had_events ? std::chrono::milliseconds(0) : policy_.initial};
    return;
  }
  if (is_gone(status.error())) {
    // Relist at once; repeated 410s with no event in between back off.
    resource_version_.clear();
    ++gone_without_events_;
    const auto delay = policy_.delay(gone_without_events_ - 1, random01_ ? random01_() : 0.0);
    next_ = {Step::kList, "", delay};
    return;
  }
  const auto delay = backoff();
  if (resource_version_.empty()) next_ = {Step::kList, "", delay};
  else next_ = {Step::kWatch, resource_version_, delay};
}

}  // namespace wscp::kube
