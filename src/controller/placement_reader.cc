#include "controller/placement_reader.h"

#include <algorithm>

#include "controller/checkpoint_reconciler.h"

namespace wscp::controller {

namespace {

using agent::inventory::Workspace;

bool matches(const Workspace& w, const kube::WorkspaceRef& ref) {
  if (ref.compose_project) return w.project == *ref.compose_project;
  if (ref.workspace_id) return w.id == *ref.workspace_id;
  if (!ref.container) return false;
  if (w.primary == *ref.container) return true;
  return std::any_of(w.containers.begin(), w.containers.end(),
                     [&](const auto& c) { return c.name == *ref.container || c.id == *ref.container; });
}

std::string describe(const kube::WorkspaceRef& ref) {
  if (ref.compose_project) return "compose project " + *ref.compose_project;
  if (ref.workspace_id) return "workspace " + *ref.workspace_id;
  return "container " + ref.container.value_or("?");
}

// Refusals that go away by themselves: a node or an agent not up yet.
bool transient(Ineligibility why) {
  return why == Ineligibility::kNodeNotReady || why == Ineligibility::kNoAgent ||
         why == Ineligibility::kAgentNotLive || why == Ineligibility::kAgentNotReady;
}

}  // namespace

Result<std::string> workspace_namespace(const Workspace& workspace, const TenancyPolicy& policy) {
  if (auto it = workspace.labels.find(policy.namespace_label); it != workspace.labels.end()) {
    if (it->second.empty()) return Error(ErrorCode::kPermissionDenied, "its label " + policy.namespace_label + " is empty");
    return it->second;
  }
  for (const std::string& key : {workspace.id, workspace.project}) {
    if (key.empty()) continue;
    if (auto it = policy.mapping.find(key); it != policy.mapping.end()) return it->second;
  }
  return Error(ErrorCode::kPermissionDenied,
               "it belongs to no namespace: label its container " + policy.namespace_label +
                   "=<namespace>, or map it to a namespace in the controller's tenancy settings");
}

ClusterPlacementReader::ClusterPlacementReader(NodeLister nodes, AgentDirectory& agents, AgentClientFactory& clients,
                                               ClusterPlacementOptions options, CheckpointGetter checkpoints)
    : nodes_(std::move(nodes)),
      agents_(agents),
      clients_(clients),
      options_(std::move(options)),
      checkpoints_(std::move(checkpoints)) {}

Result<Workspace> ClusterPlacementReader::find_on(const std::string& node, const kube::WorkspaceRef& ref) {
  auto client = clients_.client_for(node);
  if (!client) {
    // No agent registered (yet) or not live: it may come.
    if (client.error().code() == ErrorCode::kNotFound)
      return Error(ErrorCode::kUnavailable, client.error().message() + ": waiting for it to register");
    return client.error();
  }
  auto listed = (*client)->list_workspaces();
  if (!listed) return listed.error();
  for (const auto& w : listed->workspaces) {
    if (matches(w, ref)) return w;
  }
  return Error(ErrorCode::kNotFound, "the agent of node " + node + " lists no " + describe(ref) +
                                         ": check the name, and that it runs with the workspace label");
}

Result<std::pair<std::string, Workspace>> ClusterPlacementReader::find_anywhere(const kube::WorkspaceRef& ref) {
  std::vector<std::pair<std::string, Workspace>> found;
  std::string unreachable;
  for (const auto& agent : agents_.live_agents()) {
    auto w = find_on(agent.node, ref);
    if (w) found.emplace_back(agent.node, *w);
    else if (w.error().code() != ErrorCode::kNotFound) unreachable += (unreachable.empty() ? "" : ", ") + agent.node;
  }
  if (found.size() > 1) {
    return Error(ErrorCode::kConflict, describe(ref) + " runs on " + found[0].first + " and " + found[1].first +
                                           ": name the node in spec.workspace.node");
  }
  if (found.size() == 1) return found.front();
  if (!unreachable.empty()) {
    return Error(ErrorCode::kUnavailable,
                 "no agent reports " + describe(ref) + " running, and the agents of " + unreachable + " did not answer");
  }
  return Error(ErrorCode::kNotFound, "no agent reports " + describe(ref) + " running");
}

std::optional<kube::AdoptedCheckpoint> ClusterPlacementReader::agent_checkpoint(const std::string& node,
                                                                               const Workspace& workspace,
                                                                               const CheckpointObject& object) {
  auto agent = agents_.find(node);
  if (!agent || !agent->evacuation) return std::nullopt;
  const auto* made = agent->evacuation->adoptable(workspace.id, workspace.running);
  const std::string store = agent->evacuation->store();
  // Another store than the one asked for is another checkpoint.
  if (!made || (object.spec.store && *object.spec.store != store)) return std::nullopt;
  // The ids go into status: the schema's rules, checked before they are written.
  nlohmann::json entry{{"id", made->checkpoint_id}, {"operation", made->operation}};
  if (!store.empty()) entry["store"] = store;
  auto adopted = kube::AdoptedCheckpoint::from_json(entry);
  if (!adopted) return std::nullopt;
  return *adopted;
}

Result<Placement> ClusterPlacementReader::restore_source(const CheckpointObject& object) {
  const std::string name = object.spec.restore_from->name;
  if (!checkpoints_) return Error(ErrorCode::kUnsupported, "spec.restoreFrom is not handled by this controller");
  auto raw = checkpoints_(object.ns, name);
  if (!raw) {
    if (raw.error().code() == ErrorCode::kNotFound)
      return Error(ErrorCode::kNotFound, "spec.restoreFrom names WorkspaceCheckpoint " + name +
                                             ", which is not in namespace " + object.ns);
    return Error(ErrorCode::kUnavailable, "cannot read WorkspaceCheckpoint " + name + ": " + raw.error().message());
  }
  auto from = parse_checkpoint_object(*raw);
  if (!from) return from.error().wrap("spec.restoreFrom");
  const auto& s = from->status;
  if (!s.finished_at) {
    return Error(ErrorCode::kUnavailable, "WorkspaceCheckpoint " + name + " has not finished (phase " +
                                              std::string(kube::to_string(s.phase.value_or(
                                                  kube::CheckpointPhase::kPending))) + ")");
  }
  if (!s.checkpoint || !s.workspace_id || !s.source_node) {
    return Error(ErrorCode::kInvalidArgument, "WorkspaceCheckpoint " + name +
                                                  " has made no archive (status.checkpoint is empty): restore one "
                                                  "that is Checkpointed");
  }
  if (const auto* running = s.condition(kube::kConditionWorkspaceRunning);
      !running || running->status != kube::ConditionStatus::kFalse) {
    return Error(ErrorCode::kInvalidArgument,
                 "workspace " + *s.workspace_id + " of WorkspaceCheckpoint " + name + " is not known to be stopped" +
                     (s.running_on ? " (it runs on " + s.running_on->node + ")" : "") +
                     ": restoring its archive would run it twice; move it with spec.workspace instead");
  }
  if (from->deleting) {
    return Error(ErrorCode::kInvalidArgument, "WorkspaceCheckpoint " + name +
                                                  " is being deleted (its workspace is resumed on its source)");
  }
  Placement placement;
  placement.source_node = *s.source_node;
  placement.workspace_id = *s.workspace_id;
  placement.restore_from = *s.checkpoint;
  return with_destination(object, std::move(placement), std::nullopt);
}

Result<Placement> ClusterPlacementReader::place(const CheckpointObject& object) {
  if (object.spec.restore_from) return restore_source(object);
  if (!object.spec.workspace) return Error(ErrorCode::kInvalidArgument, "spec names no workspace");
  const auto& ref = *object.spec.workspace;
  std::string source;
  Workspace workspace;
  if (ref.node) {
    auto w = find_on(*ref.node, ref);
    if (!w) return w.error();
    source = *ref.node;
    workspace = std::move(*w);
  } else {
    auto found = find_anywhere(ref);
    if (!found) return found.error();
    source = found->first;
    workspace = std::move(found->second);
  }
  auto adopt = agent_checkpoint(source, workspace, object);
  if (!workspace.running && !adopt) {
    return Error(ErrorCode::kInvalidArgument, describe(ref) + " on " + source + " is not running: start it first");
  }
  auto owner = workspace_namespace(workspace, options_.tenancy);
  if (!owner) {
    return Error(ErrorCode::kPermissionDenied,
                 describe(ref) + " on " + source + " may not be moved from namespace " + object.ns + ": " +
                     owner.error().message());
  }
  if (*owner != object.ns) {
    return Error(ErrorCode::kPermissionDenied, describe(ref) + " on " + source + " belongs to namespace " + *owner +
                                                   ": a WorkspaceCheckpoint in " + object.ns + " may not move it");
  }

  Placement placement;
  placement.source_node = source;
  placement.workspace_id = workspace.id;
  placement.adopt = std::move(adopt);
  return with_destination(object, std::move(placement), workspace.memory_bytes);
}

Result<Placement> ClusterPlacementReader::with_destination(const CheckpointObject& object, Placement placement,
                                                           std::optional<std::uint64_t> memory_bytes) {
  if (!object.spec.destination) return placement;
  const std::string source = placement.source_node;
  PlacementRequest request;
  for (const auto& json : nodes_()) {
    if (auto node = parse_node(json)) request.nodes.push_back(std::move(*node));
  }
  for (const auto& agent : agents_.live_agents()) {
    AgentState state;
    state.live = true;
    state.ready = !agent.not_ready || agent.not_ready->empty();
    state.capacity = agent.capacity;
    state.termination_notice = agent.termination_notice.has_value() && agent.termination_notice->kind != "rebalance";
    request.agents.emplace(agent.node, state);
  }
  request.needs.memory_bytes = memory_bytes;
  request.destination = *object.spec.destination;
  request.source_node = source;
  auto decision = choose_destination(request, options_.policy);
  if (decision.chosen()) {
    placement.destination_node = decision.node;
    return placement;
  }
  // Wait when every node that could take it is held back by something that
  // passes (not ready yet, no agent yet), or when there is none besides the
  // source and those the selector leaves out (a node may join).
  const bool wait = std::all_of(decision.refusals.begin(), decision.refusals.end(), [](const NodeRefusal& r) {
    return r.why == Ineligibility::kSourceNode || r.why == Ineligibility::kSelectorMismatch || transient(r.why);
  });
  return Error(wait ? ErrorCode::kUnavailable : ErrorCode::kInvalidArgument, decision.message());
}

}  // namespace wscp::controller
