#pragma once

// What `serve` does the node's work on: the real phases on Podman and the
// configured stores, or, with dry_run in the configuration, made-up
// workspaces whose phases succeed at once (benchmarks of the controller).

#include <cstdint>
#include <memory>
#include <string>

#include "agent/cli/store_options.h"
#include "agent/config/agent_config.h"
#include "agent/inventory/inventory.h"
#include "agent/operations/phase_runner.h"
#include "common/clock.h"
#include "log/logger.h"
#include "metrics/agent_metrics.h"
#include "migration/claim.h"

namespace wscp::agent {

class NodeBackend {
 public:
  virtual ~NodeBackend() = default;
  virtual operations::PhaseRunner& runner() = 0;
  virtual inventory::NodeInventory& inventory() = 0;
  // Ready = Podman reachable and checkpoint-capable.
  virtual Status ready() = 0;
  // Who holds a checkpoint, as the store's claim log says.
  virtual Result<migration::ClaimState> claim(const std::string& store, const std::string& workspace_id,
                                              const std::string& checkpoint_id) = 0;
  // What one checkpoint or restore holds in flight at most.
  virtual std::uint64_t transfer_bytes() const = 0;
  virtual std::size_t store_count() const = 0;
};

// How a configured store is opened: the one-shot verbs' store options. An
// S3 store whose URL names no writer writes as `node`, so its multipart
// uploads (.wscp-uploads/<writer>/) name the node whatever the host name of
// the process (a DaemonSet's pod gets a new one each time).
StoreArgs store_args(const StoreConfig& s, const std::string& node);

// The stores report their retries and failures to `metrics` (may be null).
Result<std::unique_ptr<NodeBackend>> open_podman_backend(const AgentConfig& cfg, const std::shared_ptr<log::Logger>& logger,
                                                         const std::shared_ptr<metrics::AgentMetrics>& metrics);
std::unique_ptr<NodeBackend> open_dry_run_backend(const AgentConfig& cfg);

}  // namespace wscp::agent
