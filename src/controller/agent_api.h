#pragma once

// What the controller asks of one node's agent (docs/agent-daemon.md, "The
// API"). The real implementation talks mutual TLS to the agent
// (agent_client.h); tests of the controller substitute a fake.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/inventory/inventory.h"
#include "agent/operations/operation.h"
#include "common/error.h"
#include "common/result.h"
#include "controller/agent_inventory.h"

namespace wscp::controller {

// POST /v1/operations: the operation as the agent reports it, and whether
// this call created it (202) or the id was already known with the same
// request (200).
struct StartedOperation {
  agent::operations::Operation operation;
  bool created = false;
};

// An agent's refusal, as its error body said it.
struct AgentRefusal {
  int status = 0;
  std::string code;     // the agent's word: "unsupported", "conflict", "not_found", ...
  std::string message;  // the agent's explanation (bounded)
  ErrorCode error_code = ErrorCode::kInternal;  // what the status and code mean here
  bool operator==(const AgentRefusal&) const = default;
};

// POST /v1/preflight by where the checkpoint is.
struct PreflightQuery {
  std::string workspace_id;
  std::string checkpoint_id;
  std::string store;  // "" = the agent's only store
};

// The agent's answer to a preflight: it can restore, or the refusal.
struct PreflightVerdict {
  std::optional<AgentRefusal> refusal;
  bool can_restore() const { return !refusal.has_value(); }
};

// GET /v1/workspaces
struct NodeWorkspaces {
  std::vector<agent::inventory::Workspace> workspaces;
  AgentCapacity capacity;
};

// One node's agent. Errors say which node and endpoint; their codes follow
// the agent's answer (kNotFound, kConflict, kUnavailable to retry, ...), or
// kInternal for an answer that is not what the API promises.
class AgentApi {
 public:
  virtual ~AgentApi() = default;
  virtual const std::string& node() const = 0;

  virtual Result<StartedOperation> start(std::string_view operation_id,
                                         const agent::operations::Request& request) = 0;
  virtual Result<agent::operations::Operation> get(std::string_view operation_id) = 0;
  // Asks the operation to stop; it answers as it is then (finished or not).
  virtual Result<agent::operations::Operation> cancel(std::string_view operation_id) = 0;
  // A refusal (the agent cannot restore this here: 404, 409, 422, ...) is a
  // verdict; not getting an answer, or a malformed one, is an error.
  virtual Result<PreflightVerdict> preflight(const PreflightQuery& query) = 0;
  virtual Result<NodeWorkspaces> list_workspaces() = 0;
};

}  // namespace wscp::controller
