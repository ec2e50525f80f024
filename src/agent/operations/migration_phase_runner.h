#pragma once

#include <map>
#include <string>

#include "agent/operations/phase_runner.h"
#include "migration/node_services.h"

namespace wscp::agent::operations {

// The real phases (src/migration) on this node's services, one set per
// configured store, chosen by the request's store name ("" = the only one).
class MigrationPhaseRunner final : public PhaseRunner {
 public:
  explicit MigrationPhaseRunner(std::map<std::string, migration::NodeServices*> stores) : stores_(std::move(stores)) {}

  Result<Outcome> run(const Request& request, RunContext& run) override;
  Status preflight(const PreflightRequest& request) override;
  RecoveryReport recover(const OperationContext& ctx) override;
  Status check_store(std::string_view store) const override;

 private:
  Result<migration::NodeServices*> pick(std::string_view store) const;

  std::map<std::string, migration::NodeServices*> stores_;
};

}  // namespace wscp::agent::operations
