#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/operations/operation.h"
#include "common/operation.h"
#include "common/result.h"

namespace wscp::agent::operations {

// What an operation's run is handed besides the context: where to say that
// a new step begins (the previous one ends then).
struct RunContext {
  const OperationContext& ctx;
  std::function<void(std::string_view step)> begin_step;
};

// Preflight of a restore on this node: the plan itself, or where it is.
struct PreflightRequest {
  std::optional<nlohmann::json> plan;  // a plan document as the source wrote it
  std::string workspace_id;            // or: read it from the store
  std::string checkpoint_id;
  std::string store;
};

// One journal entry that recovery found at start.
struct RecoveredEntry {
  std::string checkpoint_id;
  std::string workspace_id;
  Kind kind = Kind::kCheckpoint;
  std::string outcome;
  bool pending = false;
  std::optional<Error> error;
  migration::RecoveryAction action = migration::RecoveryAction::kFailed;
  std::vector<std::string> containers;  // the workspace's containers, as journalled
};

// Recovery over every store: what it did, and the stores whose journal or
// objects it could not read (the others were still recovered).
struct RecoveryReport {
  std::vector<RecoveredEntry> entries;
  std::map<std::string, Error> failed_stores;
};

// The node-local phases as the operation manager sees them. The real one
// calls src/migration on the node's services; unit tests use a fake.
class PhaseRunner {
 public:
  virtual ~PhaseRunner() = default;
  // Runs one phase to its end (or its cancellation).
  virtual Result<Outcome> run(const Request& request, RunContext& run) = 0;
  // Whether this node can restore what the plan describes.
  virtual Status preflight(const PreflightRequest& request) = 0;
  // Finishes or undoes what this node's journal says was left (at start).
  virtual RecoveryReport recover(const OperationContext& ctx) = 0;
  // Whether the request names a store this runner knows (kInvalidArgument
  // naming the configured stores if not).
  virtual Status check_store(std::string_view store) const = 0;
};

}  // namespace wscp::agent::operations
