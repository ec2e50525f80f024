#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/inventory/inventory.h"
#include "agent/notices/termination_notice.h"

namespace wscp::agent::evacuation {

// A running workspace to checkpoint when the node is reclaimed.
struct Candidate {
  std::string workspace_id;
  std::string primary;  // the container with the workspace label
  std::string project;  // its compose project, or ""
  std::optional<std::uint64_t> memory_bytes;
  std::int64_t priority = 0;  // the priority label's value; 0 without one
};

// The running workspaces in the order their checkpoints start: a higher
// priority first, then the smallest first (largest last: the small ones are
// sure to be durable before the deadline, and a large one that misses it
// holds back nobody), a workspace whose size Podman did not report after
// every sized one, then by id. A priority label that is not an integer
// counts as 0.
std::vector<Candidate> evacuation_order(const std::vector<inventory::Workspace>& workspaces,
                                        std::string_view priority_label);

// The checkpoint id every workspace of one notice is checkpointed under:
// "notice-<provider>-<12 hex digits of the notice's id>". The same notice
// seen again (after an agent restart) gives the same id, so its operations
// are the same operations, never a second dump.
std::string notice_checkpoint_id(const notices::TerminationNotice& notice);

// An operation id per workspace and role ("checkpoint", "resume"), stable
// for the same notice and workspace, and valid as an operation id.
std::string notice_operation_id(std::string_view checkpoint_id, std::string_view workspace_id,
                                std::string_view role);

}  // namespace wscp::agent::evacuation
