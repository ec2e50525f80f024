#pragma once

#include <chrono>
#include <vector>

#include "agent/notices/termination_notice.h"
#include "common/error.h"
#include "common/operation.h"
#include "common/result.h"

namespace wscp::agent::notices {

// One poll's findings: the notices in force now, and what went wrong (a
// service that could not be reached, an answer that was malformed). A
// malformed answer is never a notice; one endpoint's failure does not hide
// another endpoint's notice.
struct PollResult {
  std::vector<TerminationNotice> notices;
  std::vector<Error> errors;
};

// A cloud's termination-notice source (its instance metadata service).
class NoticeWatcher {
 public:
  virtual ~NoticeWatcher() = default;

  virtual Provider provider() const = 0;
  // Asks the metadata service once. May block up to the watcher's own wait
  // (GCE's wait-for-change); returns early when `cancel` is set.
  virtual PollResult poll(const CancelToken& cancel) = 0;
  // How long to wait after a poll before the next one (zero for a watcher
  // whose poll itself waits for a change).
  virtual std::chrono::milliseconds poll_interval() const = 0;
  // Tells the provider that this node is ready for the notice's action
  // (Azure: StartRequests). A no-op for providers without one.
  virtual Status acknowledge(const TerminationNotice&) { return Ok{}; }
};

}  // namespace wscp::agent::notices
