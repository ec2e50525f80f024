#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/notices/notice_watcher.h"
#include "common/clock.h"
#include "common/operation.h"
#include "log/logger.h"
#include "metrics/agent_metrics.h"

namespace wscp::agent::notices {

// Called once per distinct notice (provider, kind, id), from the watcher's thread.
using NoticeSink = std::function<void(const TerminationNotice&)>;

// Runs each watcher on its own thread (GCE's poll blocks in a long wait),
// reports every notice once, and logs and counts every failed or malformed
// poll (a broken metadata service is a degraded mode, not a notice, and
// never stops the watching).
class NoticeMonitor {
 public:
  NoticeMonitor(std::vector<std::unique_ptr<NoticeWatcher>> watchers, std::shared_ptr<Clock> clock,
                std::shared_ptr<log::Logger> logger, std::shared_ptr<metrics::AgentMetrics> metrics, NoticeSink sink);
  ~NoticeMonitor();
  NoticeMonitor(const NoticeMonitor&) = delete;
  NoticeMonitor& operator=(const NoticeMonitor&) = delete;

  void start();
  // Cancels the polls in flight and joins the threads.
  void stop();

  // One poll of watcher `index`: what each thread repeats. Returns how long
  // to wait before the next (the watcher's interval; at least a second after
  // a failure).
  std::chrono::milliseconds check(std::size_t index);

  // Every distinct notice reported so far, in order.
  std::vector<TerminationNotice> notices() const;
  // Passes the acknowledgement to the watcher of the notice's provider.
  Status acknowledge(const TerminationNotice& notice);

 private:
  struct ErrorLog {
    std::string last_message;
    Clock::time_point last_logged{};
    std::uint64_t suppressed = 0;
  };
  void run(std::size_t index);
  void report_error(std::size_t index, const Error& error);

  std::vector<std::unique_ptr<NoticeWatcher>> watchers_;
  std::shared_ptr<Clock> clock_;
  std::shared_ptr<log::Logger> logger_;
  std::shared_ptr<metrics::AgentMetrics> metrics_;
  NoticeSink sink_;
  CancelToken cancel_;
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;
  std::set<std::string> seen_keys_;
  std::vector<TerminationNotice> seen_;
  std::vector<ErrorLog> error_logs_;
};

// "unreachable" (kUnavailable), "refused" (kPermissionDenied), "malformed"
// (kInternal: an answer that cannot be used), "other".
std::string_view poll_error_reason(const Error& error);

}  // namespace wscp::agent::notices
