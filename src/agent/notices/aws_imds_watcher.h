#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "agent/notices/notice_watcher.h"
#include "common/clock.h"
#include "http/client.h"

namespace wscp::agent::notices {

struct AwsImdsConfig {
  std::string base_url = "http://169.254.169.254";
  std::chrono::milliseconds poll_interval{5000};  // AWS recommends checking every 5 s
  std::chrono::seconds token_ttl{21600};          // IMDSv2 allows 1 s to 6 h
  std::chrono::milliseconds request_timeout{3000};
};

// EC2 instance metadata, IMDSv2 only (a session token from PUT
// /latest/api/token on every request):
//  - /latest/meta-data/spot/instance-action: 404 = no notice; else
//    {"action": "terminate"|"stop"|"hibernate", "time": "2026-...Z"}, a
//    termination whose deadline is `time`;
//  - /latest/meta-data/events/recommendations/rebalance: 404 = none; else
//    {"noticeTime": "2026-...Z"}, a rebalance recommendation.
// The token is renewed before it expires and whenever IMDS answers 401.
class AwsImdsWatcher final : public NoticeWatcher {
 public:
  AwsImdsWatcher(AwsImdsConfig config, std::shared_ptr<http::Client> http, std::shared_ptr<Clock> clock);

  Provider provider() const override { return Provider::kAws; }
  PollResult poll(const CancelToken& cancel) override;
  std::chrono::milliseconds poll_interval() const override { return config_.poll_interval; }

 private:
  struct Answer {
    int status = 0;
    std::string body;
  };
  Result<std::string> token(const CancelToken& cancel);
  Result<Answer> get(const std::string& path, const CancelToken& cancel);
  Result<std::optional<TerminationNotice>> instance_action(const CancelToken& cancel);
  Result<std::optional<TerminationNotice>> rebalance(const CancelToken& cancel);

  AwsImdsConfig config_;
  std::shared_ptr<http::Client> http_;
  std::shared_ptr<Clock> clock_;
  std::string token_;
  Clock::time_point token_renew_at_{};
};

}  // namespace wscp::agent::notices
