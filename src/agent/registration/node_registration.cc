#include "agent/registration/node_registration.h"

#include <algorithm>

#include "kube/api_error.h"
#include "kube/conflict_retry.h"
#include "kube/micro_time.h"

namespace wscp::agent::registration {

using nlohmann::json;

std::string lease_name(std::string_view node) { return "wscp-agent-" + std::string(node); }

std::map<std::string, std::string> annotations_of(const RegistrationInfo& info) {
  return {{kEndpointAnnotation, info.endpoint},
          {kFingerprintAnnotation, info.certificate_sha256},
          {kCapabilitiesAnnotation, json(info.capabilities).dump()},
          {kCapacityAnnotation, info.capacity.dump()},
          {kNoticeAnnotation, info.termination_notice ? info.termination_notice->dump() : std::string()},
          {kEvacuationAnnotation, info.evacuation ? info.evacuation->dump() : std::string()}};
}

NodeRegistration::NodeRegistration(kube::KubeClient& client, RegistrationOptions options,
                                   std::shared_ptr<Clock> clock, std::shared_ptr<log::Logger> logger)
    : client_(client),
      options_(std::move(options)),
      clock_(clock ? std::move(clock) : system_clock()),
      logger_(logger ? std::move(logger) : log::null_logger()) {}

NodeRegistration::~NodeRegistration() { stop(); }

void NodeRegistration::update(const std::function<void(RegistrationInfo&)>& change) {
  {
    std::lock_guard lock(mu_);
    RegistrationInfo before = info_;
    change(info_);
    if (info_ == before) return;
    dirty_ = true;
  }
  wake_.notify_all();
}

RegistrationInfo NodeRegistration::info() const {
  std::lock_guard lock(mu_);
  return info_;
}

bool NodeRegistration::registered() const {
  std::lock_guard lock(mu_);
  return registered_;
}

Result<json> NodeRegistration::renew() {
  const RegistrationInfo info = this->info();
  const std::string name = lease_name(options_.node);
  const std::string now = kube::format_micro_time(clock_->wall_now());
  const int duration_s = static_cast<int>(
      std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(options_.lease_duration).count()));
  auto apply = [&](json& lease) {
    auto& meta = lease["metadata"];
    meta["labels"]["app.kubernetes.io/name"] = "wscp-agent";
    meta["labels"][kNodeLabel] = options_.node;
    for (const auto& [k, v] : annotations_of(info)) meta["annotations"][k] = v;
    auto& spec = lease["spec"];
    spec["holderIdentity"] = name;
    spec["leaseDurationSeconds"] = duration_s;
    if (!spec.contains("acquireTime") || spec["acquireTime"].is_null()) spec["acquireTime"] = now;
    spec["renewTime"] = now;
  };
  auto existing = client_.get(kube::resources::kLeases, options_.namespace_name, name);
  if (!existing && kube::is_not_found(existing.error())) {
    json lease{{"metadata", {{"name", name}, {"namespace", options_.namespace_name}}}, {"spec", json::object()}};
    apply(lease);
    auto created = client_.create(kube::resources::kLeases, lease);
    if (created || !kube::is_already_exists(created.error())) {
      std::lock_guard lock(mu_);
      registered_ = created.ok();
      return created;
    }
  } else if (!existing) {
    std::lock_guard lock(mu_);
    registered_ = false;
    return existing.error();
  }
  auto stored = kube::modify(client_, kube::resources::kLeases, options_.namespace_name, name,
                             [&](json& lease) -> Result<bool> {
                               apply(lease);
                               return true;
                             });
  std::lock_guard lock(mu_);
  registered_ = stored.ok();
  return stored;
}

void NodeRegistration::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void NodeRegistration::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void NodeRegistration::loop() {
  bool was_ok = true;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      dirty_ = false;
    }
    auto r = renew();
    if (!r) {
      logger_->warning("registration lease not renewed",
                       {{"lease", lease_name(options_.node)}, {"error", r.error().describe()}});
      was_ok = false;
    } else if (!was_ok) {
      logger_->info("registration lease renewed again", {{"lease", lease_name(options_.node)}});
      was_ok = true;
    }
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, options_.renew_interval, [this] { return stopping_ || dirty_; });
    if (stopping_) return;
  }
}

}  // namespace wscp::agent::registration
