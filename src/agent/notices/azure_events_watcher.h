#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "agent/notices/notice_watcher.h"
#include "common/clock.h"
#include "http/client.h"

namespace wscp::agent::notices {

struct AzureEventsConfig {
  std::string base_url = "http://169.254.169.254";
  std::chrono::milliseconds poll_interval{5000};
  // This VM's name as the events' Resources list it; asked from IMDS
  // (/metadata/instance/compute/name) when empty.
  std::string vm_name;
  // Azure enables Scheduled Events on the first request and may take up to
  // two minutes to answer it; later requests answer at once.
  std::chrono::milliseconds first_request_timeout{120'000};
  std::chrono::milliseconds request_timeout{5000};
};

// Azure Scheduled Events: GET /metadata/scheduledevents?api-version=2020-07-01
// with "Metadata: true" answers {"DocumentIncarnation": n, "Events": [...]}.
// An event with EventType "Preempt" whose Resources name this VM is a
// termination whose deadline is its NotBefore (an RFC 1123 date; empty once
// the event has started, then the deadline is now). Events for other VMs
// (Azure tells every VM of an availability set) are ignored. acknowledge()
// approves an event (POST {"StartRequests": [{"EventId": id}]}), which lets
// Azure proceed before NotBefore.
class AzureEventsWatcher final : public NoticeWatcher {
 public:
  AzureEventsWatcher(AzureEventsConfig config, std::shared_ptr<http::Client> http, std::shared_ptr<Clock> clock);

  Provider provider() const override { return Provider::kAzure; }
  PollResult poll(const CancelToken& cancel) override;
  std::chrono::milliseconds poll_interval() const override { return config_.poll_interval; }
  Status acknowledge(const TerminationNotice& notice) override;

 private:
  Result<std::string> vm_name(const CancelToken& cancel);
  std::chrono::milliseconds timeout() const;

  AzureEventsConfig config_;
  std::shared_ptr<http::Client> http_;
  std::shared_ptr<Clock> clock_;
  std::string vm_name_;
  bool answered_once_ = false;
};

}  // namespace wscp::agent::notices
