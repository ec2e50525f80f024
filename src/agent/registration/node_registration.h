#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "kube/kube_client.h"
#include "log/logger.h"

namespace wscp::agent::registration {

// What the agent publishes about itself, as annotations of its Lease.
struct RegistrationInfo {
  std::string endpoint;                   // https://host:port of the API
  std::string certificate_sha256;         // the serving certificate's fingerprint
  std::string public_key_pin;             // "sha256//BASE64" of its public key: what clients pin
  std::vector<std::string> capabilities;  // e.g. "checkpoint", "restore", "notices:aws"
  nlohmann::json capacity = nlohmann::json::object();
  // Whether the agent can take work now (what /readyz says): empty when
  // ready, else why not. Unknown until first checked.
  std::optional<std::string> not_ready;
  std::optional<nlohmann::json> termination_notice;  // the last notice seen
  // The checkpoints made on the agent's own decision (a termination
  // notice): which workspaces, under which checkpoint id, in what state.
  std::optional<nlohmann::json> evacuation;
  bool operator==(const RegistrationInfo&) const = default;
};

// The annotation keys.
inline constexpr const char* kEndpointAnnotation = "wscp.dev/endpoint";
inline constexpr const char* kFingerprintAnnotation = "wscp.dev/certificate-sha256";
inline constexpr const char* kPublicKeyPinAnnotation = "wscp.dev/public-key-pin";
inline constexpr const char* kCapabilitiesAnnotation = "wscp.dev/capabilities";
inline constexpr const char* kCapacityAnnotation = "wscp.dev/capacity";
// "true", or "false: <why>" (Podman out of reach, cannot checkpoint), or
// "unknown" before the first check.
inline constexpr const char* kReadyAnnotation = "wscp.dev/ready";
inline constexpr const char* kNoticeAnnotation = "wscp.dev/termination-notice";
inline constexpr const char* kEvacuationAnnotation = "wscp.dev/evacuation";
inline constexpr const char* kNodeLabel = "wscp.dev/node";

// The annotations the info makes (every key present; the notice and the
// evacuation "" when none).
std::map<std::string, std::string> annotations_of(const RegistrationInfo& info);

struct RegistrationOptions {
  std::string namespace_name = "wscp-system";
  std::string node;
  std::chrono::milliseconds renew_interval{5000};
  std::chrono::milliseconds lease_duration{20000};
  // Who this agent is (spec.holderIdentity, holder_identity()). Empty: the
  // Lease's name, as agents wrote before holders were checked.
  std::string holder;
};

// "wscp-agent-<node>"
std::string lease_name(std::string_view node);

// The Lease's holder for an agent: "<node>/<16 characters of its public
// key's SHA-256>" (from "sha256//BASE64"): the same across the agent's
// restarts and certificate renewals (the key stays on the node), another
// for an agent elsewhere given the same node name.
std::string holder_identity(std::string_view node, std::string_view public_key_pin);

// A per-node coordination.k8s.io/v1 Lease, created when missing and renewed
// every renew_interval with the current info. A write that meets a conflict
// (someone else changed the Lease) is done again from a fresh read. Errors
// are logged and the next renewal tries again. A Lease another holder
// renewed within its duration is not taken (kConflict naming the holder:
// two agents were given one node name); an expired one is taken over.
class NodeRegistration {
 public:
  NodeRegistration(kube::KubeClient& client, RegistrationOptions options, std::shared_ptr<Clock> clock,
                   std::shared_ptr<log::Logger> logger);
  ~NodeRegistration();
  NodeRegistration(const NodeRegistration&) = delete;
  NodeRegistration& operator=(const NodeRegistration&) = delete;

  // Changes what is published; the loop writes it at once.
  void update(const std::function<void(RegistrationInfo&)>& change);
  RegistrationInfo info() const;

  // One create-or-renew; returns the Lease as stored.
  Result<nlohmann::json> renew();
  // Whether the last renewal succeeded.
  bool registered() const;

  void start();
  void stop();

 private:
  Status check_holder(const nlohmann::json& lease, const std::string& holder) const;
  void loop();

  kube::KubeClient& client_;
  RegistrationOptions options_;
  std::shared_ptr<Clock> clock_;
  std::shared_ptr<log::Logger> logger_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  RegistrationInfo info_;
  bool dirty_ = false;
  bool stopping_ = false;
  bool registered_ = false;
  std::thread thread_;
};

}  // namespace wscp::agent::registration
