#include "agent/registration/node_registration.h"

#include <algorithm>

#include "kube/api_error.h"
#include "kube/conflict_retry.h"
#include "kube/micro_time.h"
#include "kube/workspace_checkpoint.h"

namespace wscp::agent::registration {

using nlohmann::json;

std::string lease_name(std::string_view node) { return "wscp-agent-" + std::string(node); }

std::string holder_identity(std::string_view node, std::string_view public_key_pin) {
  std::string_view digest = public_key_pin;
  if (digest.starts_with("sha256//")) digest.remove_prefix(8);
  std::string id;
  for (char c : digest.substr(0, 16)) id += c == '+' ? '-' : c == '/' ? '_' : c;  // base64url
  return std::string(node) + "/" + id;
}

std::map<std::string, std::string> annotations_of(const RegistrationInfo& info) {
  return {{kEndpointAnnotation, info.endpoint},
          {kFingerprintAnnotation, info.certificate_sha256},
          {kPublicKeyPinAnnotation, info.public_key_pin},
          {kCapabilitiesAnnotation, json(info.capabilities).dump()},
          {kCapacityAnnotation, info.capacity.dump()},
          {kReadyAnnotation, !info.not_ready ? std::string("unknown")
                             : info.not_ready->empty() ? std::string("true")
                                                       : "false: " + *info.not_ready},
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

namespace {

// A string field of a Lease's spec, or "" when it is absent or not a string.
std::string spec_string(const json& spec, const char* key) {
  auto it = spec.find(key);
  return it != spec.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

// Another agent's Lease, still live, is not ours to take.
Status NodeRegistration::check_holder(const json& lease, const std::string& holder) const {
  const auto spec_it = lease.find("spec");
  const json spec = spec_it != lease.end() && spec_it->is_object() ? *spec_it : json::object();
  const std::string current = spec_string(spec, "holderIdentity");
  if (current.empty() || current == holder || current == lease_name(options_.node)) return Ok{};
  auto renewed = kube::parse_rfc3339(spec_string(spec, "renewTime"));
  const auto d = spec.find("leaseDurationSeconds");
  const auto duration = std::chrono::seconds(d != spec.end() && d->is_number_integer() ? d->get<std::int64_t>() : 0);
  if (renewed && *renewed + duration >= clock_->wall_now()) {
    return Error(ErrorCode::kConflict,
                 "the Lease " + lease_name(options_.node) + " is held by another agent (" + current + ", renewed " +
                     spec_string(spec, "renewTime") + "): two agents were given node_name " + options_.node +
                     "; give each node its own");
  }
  logger_->warning("taking over an expired registration lease", {{"lease", lease_name(options_.node)},
                                                                  {"previous_holder", current}});
  return Ok{};
}

Result<json> NodeRegistration::renew() {
  const RegistrationInfo info = this->info();
  const std::string name = lease_name(options_.node);
  const std::string now = kube::format_micro_time(clock_->wall_now());
  const int duration_s = static_cast<int>(
      std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(options_.lease_duration).count()));
  const std::string holder = options_.holder.empty() ? name : options_.holder;
  auto apply = [&](json& lease) {
    auto& meta = lease["metadata"];
    meta["labels"]["app.kubernetes.io/name"] = "wscp-agent";
    meta["labels"][kNodeLabel] = options_.node;
    for (const auto& [k, v] : annotations_of(info)) meta["annotations"][k] = v;
    auto& spec = lease["spec"];
    if (!spec.is_object()) spec = json::object();
    const bool acquired = spec_string(spec, "holderIdentity") != holder;
    spec["holderIdentity"] = holder;
    spec["leaseDurationSeconds"] = duration_s;
    if (acquired || !spec.contains("acquireTime") || spec["acquireTime"].is_null()) spec["acquireTime"] = now;
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
                               if (auto s = check_holder(lease, holder); !s) return s.error();
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
