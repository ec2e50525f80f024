#pragma once

// Where a workspace may go, and which nodes must be emptied: pure decisions
// over what the controller has read (Nodes from the API server, the agents'
// Leases). No I/O and no clock of their own, so that every rule has a
// table-driven test (test/unit/controller/placement_test.cc). The rules are
// described for operators in docs/controller.md ("Controller: placement").

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "controller/agent_inventory.h"
#include "kube/workspace_checkpoint.h"

namespace wscp::controller {

using Time = kube::Time;

// ---- the Node as the controller sees it ----

enum class TaintEffect { kNoSchedule, kPreferNoSchedule, kNoExecute };
std::string_view to_string(TaintEffect effect);

struct Taint {
  std::string key;
  std::string value;  // empty when the taint has none
  TaintEffect effect = TaintEffect::kNoSchedule;
  bool operator==(const Taint&) const = default;
};

struct NodeView {
  std::string name;
  std::map<std::string, std::string> labels;
  std::vector<Taint> taints;
  bool unschedulable = false;  // spec.unschedulable: cordoned
  // The Ready condition's status; Unknown when the Node reports none.
  kube::ConditionStatus ready = kube::ConditionStatus::kUnknown;
  bool operator==(const NodeView&) const = default;
};

// A core/v1 Node as the API server returns it. Only the fields above are
// read; a field of the wrong type is an error (kInvalidArgument) naming the
// node and the field's path, never an exception.
Result<NodeView> parse_node(const nlohmann::json& node);

// ---- what the controller knows of a node's agent (from its Lease) ----

// The capacity is AgentCapacity (controller/agent_inventory.h), as the
// agent's Lease published it: a figure left out is unknown.
struct AgentState {
  bool live = false;   // its Lease was renewed within its duration
  bool ready = false;  // it can checkpoint and restore (Podman answers)
  AgentCapacity capacity;
  bool termination_notice = false;  // it publishes a termination notice
};

// ---- choosing a destination ----

// Taint keys that announce a node's end. The defaults:
// - aws-node-termination-handler/spot-itn: AWS Node Termination Handler, on
//   a spot interruption notice;
// - karpenter.sh/disrupted: Karpenter, on a node it is about to remove
//   (interruption, consolidation, drift, expiry);
// - cloud.google.com/impending-node-termination: GKE, on a spot or
//   preemptible VM about to be reclaimed;
// - ToBeDeletedByClusterAutoscaler: the Cluster Autoscaler, on a node it has
//   decided to remove and is draining. Its softer
//   DeletionCandidateOfClusterAutoscaler (a node that may still stay) is not
//   included.
std::vector<std::string> default_termination_taint_keys();

struct PlacementPolicy {
  std::vector<std::string> termination_taint_keys = default_termination_taint_keys();
  // NoSchedule/NoExecute taints with these keys do not rule a node out
  // (termination taints always do).
  std::vector<std::string> tolerated_taint_keys;
  // A destination needs this much more than the workspace's figures, for
  // the restore's own use and for growth between measurement and restore.
  double headroom = 1.2;
};

struct WorkspaceNeeds {
  std::optional<std::uint64_t> memory_bytes;   // Podman's figure for its running containers
  std::optional<std::uint64_t> archive_bytes;  // the checkpoint's size in the store
};

struct PlacementRequest {
  std::vector<NodeView> nodes;               // the candidates: every Node the controller knows
  std::map<std::string, AgentState> agents;  // by node name; absent: no agent there
  WorkspaceNeeds needs;
  kube::Destination destination;  // a node, a node selector, or automatic
  std::string source_node;        // where the workspace runs: never chosen
};

// Why a node was not chosen, first rule broken first (in this order).
enum class Ineligibility {
  kNoSuchNode,         // the named node is not among the nodes
  kSourceNode,
  kSelectorMismatch,
  kNodeNotReady,
  kTerminationTaint,
  kTerminationNotice,
  kUnschedulable,
  kTaint,              // a NoSchedule/NoExecute taint that is not tolerated
  kNoAgent,
  kAgentNotLive,
  kAgentNotReady,
  kInsufficientMemory,
  kInsufficientDisk,
};

struct NodeRefusal {
  std::string node;
  Ineligibility why = Ineligibility::kNoSuchNode;
  std::string reason;  // for people: "agent not ready", "512 MiB memory free, ..."
};

struct PlacementDecision {
  std::optional<std::string> node;  // the chosen node
  // Every node not chosen because a rule ruled it out, in name order
  // (eligible nodes ranked lower than the chosen one are not listed).
  std::vector<NodeRefusal> refusals;

  bool chosen() const { return node.has_value(); }
  // "no destination: node-2: agent not ready; node-3: ...", the nodes that
  // did not match the selector last, at most max_listed of them followed by
  // "and N more"; for a condition's message.
  std::string message(std::size_t max_listed = 20) const;
};

// The destination for a workspace. A named node is the only candidate: when
// a rule rules it out it is refused with that reason, never replaced. Among
// the eligible nodes: the most free memory first, then the fewest
// workspaces running (an unknown figure after every known one), then the
// name.
PlacementDecision choose_destination(const PlacementRequest& request, const PlacementPolicy& policy = {});

// The first reason this node cannot take the workspace, or nullopt.
std::optional<NodeRefusal> refusal_for(const NodeView& node, const AgentState* agent, const PlacementRequest& request,
                                       const PlacementPolicy& policy);

// ---- termination handling ----

bool tainted_for_termination(const NodeView& node, const std::vector<std::string>& keys);
// The first taint with one of the keys, or nullptr.
const Taint* termination_taint(const NodeView& node, const std::vector<std::string>& keys);

struct Evacuation {
  kube::CheckpointReason reason = kube::CheckpointReason::kSpotInterruption;
  std::string detail;  // "tainted for termination (karpenter.sh/disrupted)", "cordoned"
};

// Whether the workspaces of this node must leave it: it carries a
// termination taint (SpotInterruption), or, with drain_cordoned, it is
// cordoned (Drain). A termination taint wins over a cordon.
std::optional<Evacuation> evacuation_for(const NodeView& node, const std::vector<std::string>& termination_taint_keys,
                                         bool drain_cordoned);

// ---- deadlines ----

enum class DeadlineCheck {
  kMet,     // no deadline, or now + estimate is at or before it
  kAtRisk,  // the deadline is ahead but the estimate overruns it
  kMissed,  // the deadline has passed (or is now, with work left)
};
std::string_view to_string(DeadlineCheck check);

DeadlineCheck deadline_reachable(Time now, std::optional<Time> deadline, std::chrono::milliseconds estimated);

// "512 MiB", "1.2 GiB", "900 B": for reasons people read.
std::string human_bytes(std::uint64_t bytes);

}  // namespace wscp::controller
