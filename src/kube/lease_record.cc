#include "kube/lease_record.h"

namespace wscp::kube {

LeaseRecord LeaseRecord::from_lease(const Json& lease) {
  LeaseRecord r;
  auto spec = lease.find("spec");
  if (spec == lease.end() || !spec->is_object()) return r;
  auto str = [&](const char* k) {
    auto f = spec->find(k);
    return f != spec->end() && f->is_string() ? f->get<std::string>() : std::string();
  };
  auto num = [&](const char* k) {
    auto f = spec->find(k);
    return f != spec->end() && f->is_number_integer() ? f->get<int>() : 0;
  };
  r.holder = str("holderIdentity");
  r.lease_duration_seconds = num("leaseDurationSeconds");
  r.acquire_time = str("acquireTime");
  r.renew_time = str("renewTime");
  r.transitions = num("leaseTransitions");
  return r;
}

void LeaseRecord::write_to(Json& lease) const {
  Json& spec = lease["spec"];
  spec["holderIdentity"] = holder;
  spec["leaseDurationSeconds"] = lease_duration_seconds;
  if (!acquire_time.empty()) spec["acquireTime"] = acquire_time;
  if (!renew_time.empty()) spec["renewTime"] = renew_time;
  spec["leaseTransitions"] = transitions;
}

LeaseVerdict judge_lease(const LeaseRecord& record, std::string_view identity, Clock::time_point observed_change,
                         Clock::time_point now) {
  if (record.holder.empty()) return LeaseVerdict::kFree;
  if (record.holder == identity) return LeaseVerdict::kMine;
  if (observed_change + std::chrono::seconds(record.lease_duration_seconds) <= now) return LeaseVerdict::kExpired;
  return LeaseVerdict::kHeldByOther;
}

}  // namespace wscp::kube
