#pragma once

// Which agent serves which node, from the agents' registration Leases
// (`wscp-agent-<node>`, docs/agent-daemon.md "Registration"). A Lease is
// written by the agent, so everything in it is treated as hostile: it is
// parsed once, field by field, with bounded sizes, and a Lease that does not
// parse makes its node unusable with a reason instead of an exception.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "controller/agent_inventory.h"
#include "kube/informer.h"

namespace wscp::controller {

using WallTime = std::chrono::system_clock::time_point;

// The last termination notice the agent saw, read loosely: a field missing
// or of the wrong type is left empty (the notice matters even when a newer
// or older agent wrote it differently).
struct NoticeInfo {
  std::string provider;  // "aws", "gce", "azure", ...
  std::string kind;      // "termination", "rebalance"
  std::string id;
  std::string action;
  std::optional<WallTime> deadline;
  bool operator==(const NoticeInfo&) const = default;
};

// One workspace of the evacuation a termination notice started.
struct EvacuatedWorkspace {
  std::string workspace;
  std::string checkpoint_id;
  std::string state;      // checkpointing, checkpointed, failed, resuming, ...
  std::string operation;  // the checkpoint operation's id on the agent
  bool operator==(const EvacuatedWorkspace&) const = default;
};

struct EvacuationInfo {
  nlohmann::json document;  // the annotation as published
  std::vector<EvacuatedWorkspace> workspaces;

  // The store the agent checkpoints to ("" when it did not say).
  std::string store() const;
  // The workspace's checkpoint while it is being made or sealed and not yet
  // restored or resumed: a migration restores it instead of dumping again.
  // A workspace that runs has only one being made (a sealed one is stale:
  // the workspace was resumed since). nullptr otherwise.
  const EvacuatedWorkspace* adoptable(std::string_view workspace, bool running) const;
  bool operator==(const EvacuationInfo&) const = default;
};

// What one agent published about itself.
struct AgentInfo {
  std::string lease;   // "<namespace>/<name>"
  std::string node;
  std::string endpoint;  // "https://host:port", no path
  std::string host;      // as in the URL (an IPv6 address keeps its brackets)
  std::uint16_t port = 0;
  std::string certificate_sha256;  // "ab:cd:...", lowercase
  std::string public_key_pin;      // "sha256//BASE64": what the client pins
  std::vector<std::string> capabilities;
  AgentCapacity capacity;  // all unknown when the annotation is empty
  // Whether the agent can take work (its /readyz): "" ready, else why not;
  // nullopt while unknown (not checked yet, or an older agent).
  std::optional<std::string> not_ready;
  std::optional<NoticeInfo> termination_notice;
  std::optional<EvacuationInfo> evacuation;
  std::string holder;  // spec.holderIdentity
  WallTime renew_time;
  std::chrono::seconds lease_duration{0};
  bool live = false;  // renewTime + leaseDurationSeconds >= the time it was judged at

  bool has_capability(std::string_view capability) const;
  bool live_at(WallTime now) const { return renew_time + lease_duration >= now; }
  bool operator==(const AgentInfo&) const = default;
};

// Limits on what a Lease may carry (annotations together are at most
// 256 KiB in Kubernetes).
inline constexpr std::size_t kMaxEndpointLength = 512;
inline constexpr std::size_t kMaxCapabilities = 32;
inline constexpr std::size_t kMaxCapabilityLength = 64;
inline constexpr std::size_t kMaxCapacityBytes = 16 * 1024;
inline constexpr std::size_t kMaxNoticeBytes = 64 * 1024;
inline constexpr std::size_t kMaxEvacuationBytes = 256 * 1024;
inline constexpr std::size_t kMaxEvacuatedWorkspaces = 4096;
inline constexpr std::chrono::seconds kMaxLeaseDuration{24 * 3600};

// Parses an agent's Lease; `live` is judged at `now`. kInvalidArgument
// naming the Lease and every bad field when it does not parse.
Result<AgentInfo> parse_agent_lease(const nlohmann::json& lease, WallTime now);

// "https://host:port" → host and port; kInvalidArgument saying what is wrong.
struct AgentEndpoint {
  std::string host;
  std::uint16_t port = 0;
};
Result<AgentEndpoint> parse_agent_endpoint(std::string_view url);

// The agents of the cluster, fed with their Leases (an informer's adds,
// updates and deletes), answering which agent serves a node. Safe to use
// from several threads.
class AgentDirectory {
 public:
  explicit AgentDirectory(std::shared_ptr<Clock> clock);

  // A Lease added or changed. Leases that are not named wscp-agent-<node>
  // are not agents' and are ignored (false).
  bool upsert(const nlohmann::json& lease);
  // A Lease deleted, by its name or by its last known state.
  void remove(std::string_view lease_name);
  void remove_lease(const nlohmann::json& lease);

  // The agent serving `node`, live now; otherwise why there is none:
  //   kNotFound        "no agent registered for node X"
  //   kUnavailable     "agent of node X last renewed its Lease at T (expired ...)"
  //   kInvalidArgument "agent of node X published an invalid registration: ..."
  Result<AgentInfo> find(std::string_view node) const;
  // Every agent with a valid registration that is live now, by node.
  std::vector<AgentInfo> live_agents() const;
  std::size_t size() const;

  // Handlers that keep this directory current from an informer of Leases.
  kube::InformerHandlers informer_handlers();

 private:
  std::shared_ptr<Clock> clock_;
  mutable std::mutex mu_;
  std::map<std::string, Result<AgentInfo>, std::less<>> by_lease_name_;
};

}  // namespace wscp::controller
