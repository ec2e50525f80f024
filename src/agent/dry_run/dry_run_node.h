#pragma once

// A node without Podman or a store, for benchmarks of the controller at a
// scale no sandbox holds: its workspaces are made up at start and live in
// memory only, and every phase succeeds after a set time, changing them as
// the real phase would (a checkpoint stops one, a restore adds it, a release
// removes it, a resume runs it again). Nothing survives a restart.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "agent/inventory/inventory.h"
#include "agent/operations/phase_runner.h"

namespace wscp::agent::dry_run {

struct DryRunOptions {
  std::string node;
  std::string workspace_label = "dev.containers.id";
  std::size_t workspaces = 0;                  // running at start: <node>-ws-0 ...
  std::map<std::string, std::string> labels;  // every workspace's, besides the workspace label
  std::uint64_t workspace_memory_bytes = 256ull << 20;
  std::chrono::milliseconds phase_duration{0};
  std::vector<std::string> stores;  // names a request may give ("" too when there is at most one)
};

class DryRunNode final : public inventory::NodeInventory, public operations::PhaseRunner {
 public:
  explicit DryRunNode(DryRunOptions options);

  Result<std::vector<inventory::Workspace>> workspaces() override;
  Result<inventory::Capacity> capacity() override;

  Result<operations::Outcome> run(const operations::Request& request, operations::RunContext& run) override;
  Status preflight(const operations::PreflightRequest& request) override;
  operations::RecoveryReport recover(const OperationContext&) override { return {}; }
  Status check_store(std::string_view store) const override;

 private:
  struct Entry {
    std::string id;
    std::string name;
    bool running = true;
  };
  // The entry a request names: its workspace id, container name or project.
  Entry* find(std::string_view ref);
  inventory::Workspace describe(const Entry& e) const;
  Status pretend(const operations::RunContext& run) const;
  Result<operations::Outcome> apply(const operations::Request& request);

  DryRunOptions options_;
  std::mutex mu_;
  std::vector<Entry> entries_;
};

}  // namespace wscp::agent::dry_run
