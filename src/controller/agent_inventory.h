#pragma once

// The agent's capacity and workspace JSON (docs/agent-daemon.md), read on
// the controller's side: from the wscp.dev/capacity annotation and from
// GET /v1/workspaces. Fields this version does not know are ignored (a newer
// agent may add some); known fields of the wrong type or size are problems.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/inventory/inventory.h"
#include "controller/peer_json.h"

namespace wscp::controller {

// A node's room for restores, as its agent reported it. A figure the agent
// left out is unknown, never zero.
struct AgentCapacity {
  std::optional<std::uint64_t> memory_available_bytes;
  std::map<std::string, std::uint64_t> disk_free_bytes;  // per directory
  std::optional<std::uint32_t> workspaces_running;
  bool operator==(const AgentCapacity&) const = default;
};

// Limits on what an agent may send.
inline constexpr std::size_t kMaxDiskPaths = 32;
inline constexpr std::size_t kMaxPathLength = 1024;
inline constexpr std::size_t kMaxWorkspaces = 10'000;
inline constexpr std::size_t kMaxLabels = 256;             // of one workspace's primary container
inline constexpr std::size_t kMaxLabelKeyLength = 317;     // a prefix of 253, '/', a name of 63
inline constexpr std::size_t kMaxLabelValueLength = 4096;  // Podman allows long values
inline constexpr std::size_t kMaxContainersPerWorkspace = 256;
inline constexpr std::size_t kMaxNameLength = 253;

// `where` prefixes field names in problems ("capacity.").
std::optional<AgentCapacity> read_capacity(const nlohmann::json& j, std::string_view where, FieldProblems& problems);
// One workspace of GET /v1/workspaces (labels are not part of the API).
std::optional<agent::inventory::Workspace> read_workspace(const nlohmann::json& j, std::string_view where,
                                                          FieldProblems& problems);

}  // namespace wscp::controller
