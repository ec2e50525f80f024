#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "agent/notices/notice_watcher.h"
#include "common/clock.h"
#include "http/client.h"

namespace wscp::agent::notices {

struct GceMetadataConfig {
  std::string base_url = "http://metadata.google.internal";
  std::chrono::seconds wait_timeout{60};           // timeout_sec of one wait-for-change request
  std::chrono::milliseconds retry_interval{1000};  // before asking again without a wait (no ETag yet)
  std::chrono::seconds notice_window{30};          // GCE gives a preempted VM 30 s
};

// GCE metadata: GET /computeMetadata/v1/instance/preempted with
// "Metadata-Flavor: Google" answers TRUE or FALSE. The first poll reads the
// value and its ETag; each later poll is a wait-for-change request
// (?wait_for_change=true&last_etag=E&timeout_sec=N) that returns as soon as
// the value changes, so the notice is seen within a round trip. TRUE is a
// termination whose deadline is the moment it was seen plus 30 s.
class GceMetadataWatcher final : public NoticeWatcher {
 public:
  GceMetadataWatcher(GceMetadataConfig config, std::shared_ptr<http::Client> http, std::shared_ptr<Clock> clock);

  Provider provider() const override { return Provider::kGce; }
  PollResult poll(const CancelToken& cancel) override;
  // Zero while a wait-for-change can be made (it paces itself).
  std::chrono::milliseconds poll_interval() const override;

 private:
  GceMetadataConfig config_;
  std::shared_ptr<http::Client> http_;
  std::shared_ptr<Clock> clock_;
  std::string etag_;
};

}  // namespace wscp::agent::notices
