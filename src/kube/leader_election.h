#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/operation.h"
#include "kube/kube_client.h"
#include "kube/lease_record.h"

namespace wscp::kube {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;                         // unique per process, e.g. the pod name
  std::chrono::milliseconds lease_duration{15'000};  // others wait this long for a silent leader
  std::chrono::milliseconds renew_deadline{10'000};  // the leader gives up when it could not renew for this long
  std::chrono::milliseconds retry_period{2'000};     // between attempts to acquire or renew
  bool release_on_cancel = true;               // hand the lease back when stopped, so another takes over at once

  Status validate() const;
};

struct LeaderCallbacks {
  // Called when this process becomes the leader; `work` is cancelled the
  // moment leadership ends. Must return promptly: start the work elsewhere.
  std::function<void(std::shared_ptr<CancelToken> work)> on_started_leading;
  // Called at once when leadership ends (lost or stopped), after `work` was cancelled.
  std::function<void()> on_stopped_leading;
  // Called when the observed holder changes (including to this process).
  std::function<void(const std::string& holder)> on_new_leader;
};

// Leader election on a coordination.k8s.io/v1 Lease: campaigns every
// retry_period until it holds the lease, then renews it every retry_period.
// Leadership ends at once when another holder is seen or no renewal succeeded
// for renew_deadline (each renewal is given only the time left). Time comes
// from the Clock, so the decisions are testable with a fake one.
class LeaderElector {
 public:
  LeaderElector(KubeClient& client, LeaderElectionConfig config, LeaderCallbacks callbacks,
                std::shared_ptr<Clock> clock = system_clock());

  // Campaigns, then leads until the lease is lost (an error saying why) or
  // `cancel` is cancelled (Ok; the lease is released if so configured).
  Status run(const CancelToken& cancel);

  bool is_leader() const { return leading_.load(); }
  std::string observed_holder() const;

  // One attempt; true when this process holds the lease afterwards.
  // `timeout` bounds the API calls (0: the client's default).
  Result<bool> try_acquire_or_renew(std::chrono::milliseconds timeout = {});
  // Hands the lease back if this process holds it.
  Status release();

 private:
  Status lead(const CancelToken& cancel);
  void observe(const LeaseRecord& record);

  KubeClient& client_;
  LeaderElectionConfig config_;
  LeaderCallbacks callbacks_;
  std::shared_ptr<Clock> clock_;
  std::atomic<bool> leading_{false};

  mutable std::mutex mu_;
  std::optional<LeaseRecord> observed_;
  Clock::time_point observed_at_{};
};

}  // namespace wscp::kube
