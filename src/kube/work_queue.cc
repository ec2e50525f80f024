#include "kube/work_queue.h"

#include <cassert>

namespace wscp::kube {

WorkQueue::WorkQueue(WorkQueueOptions options, std::shared_ptr<Clock> clock)
    : clock_(std::move(clock)), observer_(std::move(options.observer)), limiter_(options.rate_limit) {}

WorkQueue::~WorkQueue() { shut_down(); }

void WorkQueue::add(const std::string& key) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  add_locked(key, clock_->now());
}

void WorkQueue::add_after(const std::string& key, Duration delay) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  add_after_locked(key, delay, clock_->now());
}

void WorkQueue::add_rate_limited(const std::string& key) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  const auto now = clock_->now();
  if (observer_) observer_->on_retry();
  add_after_locked(key, limiter_.when(key, now), now);
}

void WorkQueue::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  limiter_.forget(key);
}

std::size_t WorkQueue::num_requeues(const std::string& key) const {
  std::lock_guard lock(mu_);
  return limiter_.num_requeues(key);
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mu_);
  while (!shutting_down_) {
    const auto now = clock_->now();
    if (auto key = take_locked(now)) return key;
    if (delayed_.empty()) {
      ready_cv_.wait(lock);
    } else {
      ready_cv_.wait_for(lock, delayed_.begin()->first.first - now);
    }
  }
  return std::nullopt;
}

std::optional<std::string> WorkQueue::try_get() {
  std::lock_guard lock(mu_);
  if (shutting_down_) return std::nullopt;
  return take_locked(clock_->now());
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mu_);
  const auto it = processing_.find(key);
  if (it == processing_.end()) return;
  if (observer_) observer_->on_work_duration(clock_->now() - it->second);
  processing_.erase(it);
  if (pending_.contains(key)) {
    // Added while it was being processed: its turn comes now.
    ready_.push_back(key);
    report_depth_locked();
    ready_cv_.notify_one();
  }
  if (processing_.empty()) idle_cv_.notify_all();
}

std::optional<WorkQueue::Duration> WorkQueue::next_ready_in() {
  std::lock_guard lock(mu_);
  const auto now = clock_->now();
  promote_due_locked(now);
  if (!ready_.empty()) return Duration::zero();
  if (delayed_.empty()) return std::nullopt;
  return delayed_.begin()->first.first - now;
}

void WorkQueue::recheck_clock() {
  // Under the lock, so that a getter between reading the clock and waiting
  // cannot miss the wake-up.
  std::lock_guard lock(mu_);
  ready_cv_.notify_all();
}

void WorkQueue::shut_down() {
  std::lock_guard lock(mu_);
  shutting_down_ = true;
  ready_cv_.notify_all();
}

void WorkQueue::shut_down_with_drain() {
  shut_down();
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [this] { return processing_.empty(); });
}

bool WorkQueue::shutting_down() const {
  std::lock_guard lock(mu_);
  return shutting_down_;
}

std::size_t WorkQueue::len() {
  std::lock_guard lock(mu_);
  promote_due_locked(clock_->now());
  return ready_.size();
}

std::size_t WorkQueue::num_waiting() const {
  std::lock_guard lock(mu_);
  return delayed_.size();
}

std::size_t WorkQueue::num_processing() const {
  std::lock_guard lock(mu_);
  return processing_.size();
}

void WorkQueue::add_locked(const std::string& key, Clock::time_point pending_since) {
  if (!pending_.emplace(key, pending_since).second) return;  // already pending
  if (observer_) observer_->on_add();
  if (processing_.contains(key)) return;  // done() queues it
  ready_.push_back(key);
  report_depth_locked();
  ready_cv_.notify_one();
}

void WorkQueue::add_after_locked(const std::string& key, Duration delay, Clock::time_point now) {
  if (delay <= Duration::zero()) {
    add_locked(key, now);
    return;
  }
  const auto ready_at = now + delay;
  if (const auto it = delayed_by_key_.find(key); it != delayed_by_key_.end()) {
    if (it->second->first.first <= ready_at) return;  // already due sooner
    delayed_.erase(it->second);
    delayed_by_key_.erase(it);
  }
  const auto inserted = delayed_.emplace(std::pair(ready_at, next_sequence_++), key).first;
  delayed_by_key_.emplace(key, inserted);
  // A blocked getter may now have to wake sooner than it planned.
  ready_cv_.notify_all();
}

void WorkQueue::promote_due_locked(Clock::time_point now) {
  while (!delayed_.empty() && delayed_.begin()->first.first <= now) {
    const auto first = delayed_.begin();
    const auto ready_at = first->first.first;
    const std::string key = std::move(first->second);
    delayed_by_key_.erase(key);
    delayed_.erase(first);
    add_locked(key, ready_at);
  }
}

std::optional<std::string> WorkQueue::take_locked(Clock::time_point now) {
  promote_due_locked(now);
  if (ready_.empty()) return std::nullopt;
  std::string key = std::move(ready_.front());
  ready_.pop_front();
  report_depth_locked();
  const auto pending = pending_.find(key);
  assert(pending != pending_.end() && !processing_.contains(key));
  if (observer_) observer_->on_queue_latency(now - pending->second);
  pending_.erase(pending);
  processing_.emplace(key, now);
  return key;
}

void WorkQueue::report_depth_locked() {
  if (observer_) observer_->on_depth(ready_.size());
}

}  // namespace wscp::kube
