#pragma once

#include <map>
#include <mutex>
#include <optional>
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
  // The grace to collect images with after a deletion in `node`'s store,
  // or nullopt when that store was collected less than its interval ago.
  std::optional<std::chrono::seconds> collection_due(migration::NodeServices& node);

  std::map<std::string, migration::NodeServices*> stores_;
  std::mutex collection_mu_;
  std::map<const migration::NodeServices*, Clock::time_point> last_collection_;
};

}  // namespace wscp::agent::operations
