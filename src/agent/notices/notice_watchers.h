#pragma once

#include <memory>
#include <vector>

#include "agent/config/agent_config.h"
#include "agent/notices/notice_watcher.h"
#include "common/clock.h"
#include "http/client.h"

namespace wscp::agent::notices {

// The watchers the configuration enables, each on `http` (which should
// bypass proxies: metadata services are link-local).
std::vector<std::unique_ptr<NoticeWatcher>> make_notice_watchers(const NoticesConfig& config,
                                                                 std::shared_ptr<http::Client> http,
                                                                 std::shared_ptr<Clock> clock);

}  // namespace wscp::agent::notices
