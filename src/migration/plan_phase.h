#pragma once

#include <optional>
#include <string>

#include "migration/node_services.h"
#include "migration/plan.h"

namespace wscp::migration {

struct PlanRequest {
  std::string workspace;  // a container name or id, or a workspace id
  std::string project;    // or a compose project (every container labelled with it)
  podman::CheckpointOptions checkpoint;
  podman::RestoreOptions restore;
  std::string checkpoint_id;  // chosen by the caller (idempotent retries), or made here
};

// plan.json of a checkpoint.
std::string plan_key(std::string_view workspace_id, std::string_view checkpoint_id);

// Source: everything that can be refused without a destination is refused
// here, before anything is frozen (not running, no workspace label,
// Podman-level dependencies, options the node cannot honour). Then it takes
// the workspace lock, writes the authenticated plan and journals it. A
// repeat with the same checkpoint id returns the plan already written.
Result<Plan> make_plan(NodeServices& node, const PlanRequest& request);

// Reads and authenticates a checkpoint's plan from the store.
Result<Plan> read_plan(NodeServices& node, const std::string& workspace_id, const std::string& checkpoint_id);

// Destination: whether this node can restore what the plan describes, from
// the plan alone (runtime, networks (created when missing), names, volumes,
// bind-mount sources, and each image: absent is fine (it will be shipped),
// the same name with another id is refused). Nothing is frozen yet.
Status preflight_plan(podman::Engine& destination, const Plan& plan);

}  // namespace wscp::migration
