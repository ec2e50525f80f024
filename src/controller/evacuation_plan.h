#pragma once

// What the controller creates when a node must be emptied (a termination
// taint, or a cordon when draining is on): one WorkspaceCheckpoint per
// running workspace of the node, restored wherever placement chooses. The
// names are deterministic (node, workspace, and the Node's incarnation), so
// a repeated pass, a restarted controller or a standby creates nothing
// twice.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/inventory/inventory.h"
#include "controller/agent_directory.h"
#include "controller/placement.h"
#include "controller/placement_reader.h"

namespace wscp::controller {

struct EvacuationInput {
  std::string node;
  std::string node_uid;  // a node reclaimed and re-registered is another incarnation
  Evacuation why;
  std::vector<agent::inventory::Workspace> workspaces;  // as the node's agent lists them
  std::optional<Time> deadline;                         // from the agent's termination notice
  std::optional<std::string> store;                     // "" / absent: the agents' only store
  // What the node's agent checkpoints on its own (its termination notice):
  // those workspaces are moved even when already stopped, from that store.
  std::optional<EvacuationInfo> agent_evacuation;
};

struct EvacuationPlan {
  std::vector<nlohmann::json> create;  // WorkspaceCheckpoints, each with its namespace
  std::vector<std::string> skipped;    // "workspace X: why", for an Event on the Node
};

// kube-style name: "evac-<node>-<workspace>-<8 hex>", at most 253 characters,
// lower-case letters, digits, '-' and '.'.
std::string evacuation_name(const std::string& node, const std::string& node_uid, const std::string& workspace);

EvacuationPlan plan_evacuation(const EvacuationInput& input, const TenancyPolicy& tenancy);

// A node whose agent reports a termination notice is emptied as if it were
// tainted for termination (SpotInterruption); a rebalance recommendation
// only marks the node, and a notice whose deadline passed long ago (the
// node outlived it: its agent resumed what nobody claimed) no longer counts.
inline constexpr std::chrono::minutes kNoticeOutlivedAfter{10};
std::optional<Evacuation> evacuation_for_notice(const std::optional<NoticeInfo>& notice, WallTime now);

// The label on what plan_evacuation creates, naming the node it empties.
inline constexpr std::string_view kEvacuatedNodeLabel = "wscp.dev/evacuated-node";

}  // namespace wscp::controller
