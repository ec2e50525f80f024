#pragma once

// The world behind a migration's plan: where the workspace runs (from the
// resource, or asked of the agents), whether this namespace may move it,
// and which node takes it (placement.h over the Nodes and the agents'
// registrations).

#include <functional>
#include <string>
#include <vector>

#include "controller/agent_client_factory.h"
#include "controller/agent_directory.h"
#include "controller/migration_machine.h"
#include "controller/placement.h"

namespace wscp::controller {

// Which namespace a workspace belongs to.
struct TenancyPolicy {
  // The workspace's label naming its namespace (on its primary container).
  std::string namespace_label = "wscp.dev/namespace";
  // Workspaces without that label: workspace id or compose project ->
  // namespace. A workspace neither labelled nor mapped is refused.
  std::map<std::string, std::string> mapping;
};

// The namespace the workspace belongs to, or why it has none.
Result<std::string> workspace_namespace(const agent::inventory::Workspace& workspace, const TenancyPolicy& policy);

class PlacementReader {
 public:
  virtual ~PlacementReader() = default;
  // kUnavailable when the answer may change by itself (an agent not live
  // yet, no node ready); other errors are refusals.
  virtual Result<Placement> place(const CheckpointObject& object) = 0;
};

struct ClusterPlacementOptions {
  PlacementPolicy policy;
  TenancyPolicy tenancy;
};

class ClusterPlacementReader final : public PlacementReader {
 public:
  using NodeLister = std::function<std::vector<nlohmann::json>()>;
  // A WorkspaceCheckpoint by namespace and name, as the API server has it
  // (the resource spec.restoreFrom names).
  using CheckpointGetter = std::function<Result<nlohmann::json>(const std::string& ns, const std::string& name)>;
  ClusterPlacementReader(NodeLister nodes, AgentDirectory& agents, AgentClientFactory& clients,
                         ClusterPlacementOptions options, CheckpointGetter checkpoints = {});
  Result<Placement> place(const CheckpointObject& object) override;

 private:
  // spec.restoreFrom: the archive the named resource made, and where from.
  Result<Placement> restore_source(const CheckpointObject& object);
  // Picks the destination for a workspace of `memory_bytes` now on `source`.
  Result<Placement> with_destination(const CheckpointObject& object, Placement placement,
                                     std::optional<std::uint64_t> memory_bytes);
  // The workspace on `node`, as its agent lists it.
  Result<agent::inventory::Workspace> find_on(const std::string& node, const kube::WorkspaceRef& ref);
  // The node whose agent lists the workspace.
  Result<std::pair<std::string, agent::inventory::Workspace>> find_anywhere(const kube::WorkspaceRef& ref);
  // The checkpoint `node`'s agent makes or made of the workspace on its own.
  std::optional<kube::AdoptedCheckpoint> agent_checkpoint(const std::string& node,
                                                          const agent::inventory::Workspace& workspace,
                                                          const CheckpointObject& object);

  NodeLister nodes_;
  AgentDirectory& agents_;
  AgentClientFactory& clients_;
  ClusterPlacementOptions options_;
  CheckpointGetter checkpoints_;
};

}  // namespace wscp::controller
