#include "kube/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace wscp::kube {

ExponentialBackoff::Duration ExponentialBackoff::next(const std::string& key) {
  const std::size_t exponent = failures_[key]++;
  // In floating point, so that a long run of failures saturates at max_
  // instead of overflowing.
  const double delay = static_cast<double>(base_.count()) * std::pow(2.0, static_cast<double>(exponent));
  if (delay >= static_cast<double>(max_.count())) return max_;
  return Duration(static_cast<Duration::rep>(delay));
}

std::size_t ExponentialBackoff::failures(const std::string& key) const {
  const auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

TokenBucket::Duration TokenBucket::reserve(Clock::time_point now) {
  if (!refilled_at_) {
    tokens_ = burst_;
  } else if (now > *refilled_at_) {
    const double elapsed = std::chrono::duration<double>(now - *refilled_at_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
  }
  refilled_at_ = std::max(now, refilled_at_.value_or(now));
  tokens_ -= 1;
  if (tokens_ >= 0) return Duration::zero();
  // The debt is paid back at qps tokens per second; round up so the caller
  // never comes back before its token exists.
  const double wait_seconds = -tokens_ / qps_;
  return std::chrono::ceil<Duration>(std::chrono::duration<double>(wait_seconds));
}

RateLimiter::RateLimiter(RateLimiterOptions options) : backoff_(options.base_delay, options.max_delay) {
  if (options.qps > 0) bucket_.emplace(options.qps, options.burst);
}

RateLimiter::Duration RateLimiter::when(const std::string& key, Clock::time_point now) {
  const Duration per_key = backoff_.next(key);
  const Duration overall = bucket_ ? bucket_->reserve(now) : Duration::zero();
  return std::max(per_key, overall);
}

}  // namespace wscp::kube
