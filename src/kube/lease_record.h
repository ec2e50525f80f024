#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "kube/kube_client.h"

namespace wscp::kube {

// The leader-election fields of a coordination.k8s.io/v1 Lease's spec.
struct LeaseRecord {
  std::string holder;                  // holderIdentity; "" when released
  int lease_duration_seconds = 0;
  std::string acquire_time;            // MicroTime
  std::string renew_time;              // MicroTime
  int transitions = 0;                 // leaseTransitions

  static LeaseRecord from_lease(const Json& lease);
  // Writes these fields into lease["spec"].
  void write_to(Json& lease) const;
  bool operator==(const LeaseRecord&) const = default;
};

// Who may take the lease now. Remote timestamps are not trusted (clocks
// differ between machines): a lease held by another has expired when this
// process has seen its record unchanged for its leaseDurationSeconds.
enum class LeaseVerdict {
  kMine,         // this identity holds it
  kFree,         // nobody holds it (released)
  kExpired,      // another holder stopped renewing
  kHeldByOther,  // another holder renews it
};

LeaseVerdict judge_lease(const LeaseRecord& record, std::string_view identity, Clock::time_point observed_change,
                         Clock::time_point now);

}  // namespace wscp::kube
