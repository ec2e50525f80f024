#include "agent/notices/notice_watchers.h"

#include "agent/notices/aws_imds_watcher.h"
#include "agent/notices/azure_events_watcher.h"
#include "agent/notices/gce_metadata_watcher.h"

namespace wscp::agent::notices {

std::vector<std::unique_ptr<NoticeWatcher>> make_notice_watchers(const NoticesConfig& config,
                                                                 std::shared_ptr<http::Client> http,
                                                                 std::shared_ptr<Clock> clock) {
  std::vector<std::unique_ptr<NoticeWatcher>> watchers;
  if (config.aws.enabled) {
    AwsImdsConfig c;
    c.base_url = config.aws.base_url;
    c.poll_interval = config.aws.poll_interval;
    c.token_ttl = config.aws.token_ttl;
    watchers.push_back(std::make_unique<AwsImdsWatcher>(c, http, clock));
  }
  if (config.gce.enabled) {
    GceMetadataConfig c;
    c.base_url = config.gce.base_url;
    c.wait_timeout = config.gce.wait_timeout;
    watchers.push_back(std::make_unique<GceMetadataWatcher>(c, http, clock));
  }
  if (config.azure.enabled) {
    AzureEventsConfig c;
    c.base_url = config.azure.base_url;
    c.poll_interval = config.azure.poll_interval;
    c.vm_name = config.azure.vm_name;
    watchers.push_back(std::make_unique<AzureEventsWatcher>(c, http, clock));
  }
  return watchers;
}

}  // namespace wscp::agent::notices
