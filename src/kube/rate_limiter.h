#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/clock.h"

namespace wscp::kube {

struct RateLimiterOptions {
  // Per key: the n-th consecutive failure waits base_delay * 2^(n-1), at most max_delay.
  std::chrono::steady_clock::duration base_delay = std::chrono::milliseconds(5);
  std::chrono::steady_clock::duration max_delay = std::chrono::seconds(1000);
  // Over all keys: a token bucket refilled at qps up to burst tokens, so a
  // storm of failures cannot hammer the API server. qps <= 0: no overall limit.
  double qps = 10;
  std::size_t burst = 100;
};

// Per-key exponential backoff: how long a key that failed again waits.
class ExponentialBackoff {
 public:
  using Duration = std::chrono::steady_clock::duration;
  ExponentialBackoff(Duration base, Duration max) : base_(base), max_(max) {}

  // The delay for one more failure of `key`; counts the failure.
  Duration next(const std::string& key);
  void forget(const std::string& key) { failures_.erase(key); }
  std::size_t failures(const std::string& key) const;

 private:
  Duration base_;
  Duration max_;
  std::unordered_map<std::string, std::size_t> failures_;
};

// A token bucket that reserves: every call takes a token, and when none is
// left the caller is told how long until its token will have been refilled.
class TokenBucket {
 public:
  using Duration = std::chrono::steady_clock::duration;
  TokenBucket(double qps, std::size_t burst) : qps_(qps), burst_(static_cast<double>(burst)) {}

  Duration reserve(Clock::time_point now);

 private:
  double qps_;
  double burst_;
  double tokens_ = 0;
  std::optional<Clock::time_point> refilled_at_;  // none: full, never used
};

// The delay of a retry: the larger of the key's backoff and the bucket's wait.
// Not thread-safe; the work queue guards it with its lock.
class RateLimiter {
 public:
  using Duration = std::chrono::steady_clock::duration;
  explicit RateLimiter(RateLimiterOptions options = {});

  Duration when(const std::string& key, Clock::time_point now);
  void forget(const std::string& key) { backoff_.forget(key); }
  std::size_t num_requeues(const std::string& key) const { return backoff_.failures(key); }

 private:
  ExponentialBackoff backoff_;
  std::optional<TokenBucket> bucket_;
};

}  // namespace wscp::kube
