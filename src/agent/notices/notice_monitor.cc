#include "agent/notices/notice_monitor.h"

#include <algorithm>

#include "common/time_format.h"

namespace wscp::agent::notices {
namespace {

constexpr std::chrono::milliseconds kMinRetry{1000};
constexpr std::chrono::milliseconds kSleepSlice{100};
constexpr std::chrono::seconds kRepeatLogEvery{60};

}  // namespace

std::string_view poll_error_reason(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kUnavailable: return "unreachable";
    case ErrorCode::kPermissionDenied: return "refused";
    case ErrorCode::kInternal: return "malformed";
    default: return "other";
  }
}

NoticeMonitor::NoticeMonitor(std::vector<std::unique_ptr<NoticeWatcher>> watchers, std::shared_ptr<Clock> clock,
                             std::shared_ptr<log::Logger> logger, std::shared_ptr<metrics::AgentMetrics> metrics,
                             NoticeSink sink)
    : watchers_(std::move(watchers)),
      clock_(std::move(clock)),
      logger_(logger ? std::move(logger) : log::null_logger()),
      metrics_(std::move(metrics)),
      sink_(std::move(sink)),
      error_logs_(watchers_.size()) {}

NoticeMonitor::~NoticeMonitor() { stop(); }

void NoticeMonitor::start() {
  for (std::size_t i = 0; i < watchers_.size(); ++i) threads_.emplace_back([this, i] { run(i); });
}

void NoticeMonitor::stop() {
  cancel_.cancel();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void NoticeMonitor::run(std::size_t index) {
  logger_->info("watching for termination notices",
                {{"provider", std::string(to_string(watchers_[index]->provider()))}});
  while (!cancel_.cancelled()) {
    auto wait = check(index);
    // Sleep in slices so that stop() is prompt.
    const auto until = clock_->now() + wait;
    while (!cancel_.cancelled() && clock_->now() < until) {
      clock_->sleep_for(std::min(kSleepSlice, std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_->now())));
    }
  }
}

std::chrono::milliseconds NoticeMonitor::check(std::size_t index) {
  NoticeWatcher& w = *watchers_[index];
  PollResult r = w.poll(cancel_);
  if (cancel_.cancelled()) return std::chrono::milliseconds(0);
  for (const auto& e : r.errors) report_error(index, e);
  for (auto& n : r.notices) {
    const std::string key = std::string(to_string(n.provider)) + "/" + std::string(to_string(n.kind)) + "/" + n.id;
    {
      std::lock_guard lock(mutex_);
      if (!seen_keys_.insert(key).second) continue;
      seen_.push_back(n);
    }
    if (metrics_) metrics_->notice_seen(to_string(n.provider), to_string(n.kind));
    logger_->warning(n.kind == NoticeKind::kTermination ? "termination notice" : "rebalance recommendation",
                     {{"provider", std::string(to_string(n.provider))},
                      {"kind", std::string(to_string(n.kind))},
                      {"action", n.action},
                      {"id", n.id},
                      {"deadline", n.deadline ? utc_rfc3339(*n.deadline) : std::string("none")}});
    if (sink_) sink_(n);
  }
  auto wait = w.poll_interval();
  if (!r.errors.empty()) wait = std::max(wait, kMinRetry);
  return wait;
}

void NoticeMonitor::report_error(std::size_t index, const Error& error) {
  const std::string provider(to_string(watchers_[index]->provider()));
  if (metrics_) metrics_->notice_poll_error(provider, poll_error_reason(error));
  // A service that stays broken is logged when the problem changes and
  // then once a minute, not on every poll.
  ErrorLog& l = error_logs_[index];
  const auto now = clock_->now();
  if (error.message() == l.last_message && now - l.last_logged < kRepeatLogEvery) {
    ++l.suppressed;
    return;
  }
  logger_->warning("termination notice poll failed", {{"provider", provider},
                                                      {"reason", std::string(poll_error_reason(error))},
                                                      {"error", error.describe()},
                                                      {"repeated", l.suppressed}});
  l.last_message = error.message();
  l.last_logged = now;
  l.suppressed = 0;
}

std::vector<TerminationNotice> NoticeMonitor::notices() const {
  std::lock_guard lock(mutex_);
  return seen_;
}

Status NoticeMonitor::acknowledge(const TerminationNotice& notice) {
  for (auto& w : watchers_) {
    if (w->provider() == notice.provider) return w->acknowledge(notice);
  }
  return Error(ErrorCode::kNotFound, "no watcher for provider " + std::string(to_string(notice.provider)));
}

}  // namespace wscp::agent::notices
