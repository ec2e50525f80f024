#include "kube/leader_election.h"

#include <limits>

#include <algorithm>

#include "kube/api_error.h"
#include "kube/micro_time.h"
#include "kube/object.h"
#include "kube/wait.h"

namespace wscp::kube {
namespace {

using std::chrono::milliseconds;

int whole_seconds(milliseconds d) { return static_cast<int>((d.count() + 999) / 1000); }

}  // namespace

Status LeaderElectionConfig::validate() const {
  auto bad = [](const std::string& what) { return Error(ErrorCode::kInvalidArgument, "leader election: " + what); };
  if (lease_name.empty() || lease_namespace.empty()) return bad("the lease's name and namespace are required");
  if (identity.empty()) return bad("an identity (unique per process) is required");
  if (retry_period.count() <= 0) return bad("retry period must be positive");
  if (renew_deadline <= retry_period) return bad("renew deadline must be longer than the retry period");
  if (lease_duration <= renew_deadline) return bad("lease duration must be longer than the renew deadline");
  return Ok{};
}

LeaderElector::LeaderElector(KubeClient& client, LeaderElectionConfig config, LeaderCallbacks callbacks,
                             std::shared_ptr<Clock> clock)
    : client_(client), config_(std::move(config)), callbacks_(std::move(callbacks)), clock_(std::move(clock)) {}

std::string LeaderElector::observed_holder() const {
  std::lock_guard lock(mu_);
  return observed_ ? observed_->holder : std::string();
}

void LeaderElector::observe(const LeaseRecord& record) {
  bool new_holder = false;
  {
    std::lock_guard lock(mu_);
    if (observed_ && *observed_ == record) return;
    new_holder = !observed_ || observed_->holder != record.holder;
    observed_ = record;
    observed_at_ = clock_->now();
  }
  if (new_holder && callbacks_.on_new_leader) callbacks_.on_new_leader(record.holder);
}

Result<bool> LeaderElector::try_acquire_or_renew(milliseconds timeout) {
  CallOptions call;
  call.timeout = timeout;
  WriteOptions write;
  write.timeout = timeout;
  const std::string now_text = format_micro_time(clock_->wall_now());
  LeaseRecord mine;
  mine.holder = config_.identity;
  mine.lease_duration_seconds = whole_seconds(config_.lease_duration);
  mine.renew_time = now_text;

  auto lease = client_.get(resources::kLeases, config_.lease_namespace, config_.lease_name, call);
  if (!lease) {
    if (!is_not_found(lease.error())) return lease.error();
    mine.acquire_time = now_text;
    Json fresh = {{"metadata", {{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}}};
    mine.write_to(fresh);
    auto created = client_.create(resources::kLeases, fresh, write);
    if (!created) {
      if (is_already_exists(created.error())) return false;  // another candidate was faster
      return created.error();
    }
    observe(mine);
    return true;
  }

  const LeaseRecord current = LeaseRecord::from_lease(*lease);
  observe(current);
  Clock::time_point seen;
  {
    std::lock_guard lock(mu_);
    seen = observed_at_;
  }
  const LeaseVerdict verdict = judge_lease(current, config_.identity, seen, clock_->now());
  if (verdict == LeaseVerdict::kHeldByOther) return false;
  if (verdict == LeaseVerdict::kMine) {
    mine.acquire_time = current.acquire_time.empty() ? now_text : current.acquire_time;
    mine.transitions = current.transitions;
  } else {
    mine.acquire_time = now_text;
    // Saturates: a hostile or ancient lease must not overflow the count.
    mine.transitions = current.transitions < std::numeric_limits<decltype(current.transitions)>::max()
                           ? current.transitions + 1
                           : current.transitions;
  }
  Json updated = *lease;
  mine.write_to(updated);
  auto written = client_.update(resources::kLeases, updated, write);
  if (!written) {
    if (is_conflict(written.error())) return false;  // changed since we read it: someone else renewed or took it
    return written.error();
  }
  observe(mine);
  return true;
}

Status LeaderElector::release() {
  auto lease = client_.get(resources::kLeases, config_.lease_namespace, config_.lease_name);
  if (!lease) return is_not_found(lease.error()) ? Status(Ok{}) : Status(lease.error());
  LeaseRecord current = LeaseRecord::from_lease(*lease);
  if (current.holder != config_.identity) return Ok{};
  LeaseRecord released;
  released.lease_duration_seconds = 1;
  released.acquire_time = released.renew_time = format_micro_time(clock_->wall_now());
  released.transitions = current.transitions;
  Json updated = *lease;
  released.write_to(updated);
  auto written = client_.update(resources::kLeases, updated);
  if (!written) return written.error().wrap("release the lease");
  observe(released);
  return Ok{};
}

Status LeaderElector::run(const CancelToken& cancel) {
  if (Status s = config_.validate(); !s) return s;
  while (!cancel.cancelled()) {
    auto acquired = try_acquire_or_renew(config_.renew_deadline);
    if (acquired && *acquired) return lead(cancel);
    if (!sleep_unless_cancelled(*clock_, config_.retry_period, cancel)) break;
  }
  return Ok{};
}

Status LeaderElector::lead(const CancelToken& cancel) {
  const std::string lease = object_key(config_.lease_namespace, config_.lease_name);
  auto work = std::make_shared<CancelToken>();
  leading_ = true;
  auto last_renew = clock_->now();
  if (callbacks_.on_started_leading) callbacks_.on_started_leading(work);

  auto stop = [&](Status why) {
    leading_ = false;
    work->cancel();
    if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
    return why;
  };

  for (;;) {
    const auto deadline = last_renew + config_.renew_deadline;
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_->now());
    if (!sleep_unless_cancelled(*clock_, std::clamp(left, milliseconds(0), config_.retry_period), cancel)) {
      Status s = stop(Ok{});
      if (config_.release_on_cancel) {
        if (Status r = release(); !r) return r;
      }
      return s;
    }
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - clock_->now());
    if (remaining.count() <= 0) {
      return stop(Error(ErrorCode::kDeadlineExceeded,
                        "lost the lease " + lease + ": could not renew it within " +
                            std::to_string(config_.renew_deadline.count()) + " ms"));
    }
    auto renewed = try_acquire_or_renew(remaining);
    if (renewed && *renewed) {
      last_renew = clock_->now();
      continue;
    }
    const std::string holder = observed_holder();
    if (renewed && holder != config_.identity) {
      return stop(Error(ErrorCode::kConflict, "lost the lease " + lease + ": it is now held by \"" + holder + "\""));
    }
    // An error or a conflicting write is retried until the renew deadline.
  }
}

}  // namespace wscp::kube
