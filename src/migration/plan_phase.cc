#include "migration/plan_phase.h"

#include "common/time_format.h"
#include "migration/workspace_lock.h"
#include "podman/project.h"
#include "store/crypto.h"
#include "store/layout.h"

namespace wscp::migration {
namespace {

constexpr std::size_t kMaxPlanSize = 1 << 20;

// The containers of the request, primary first for a single container and
// in a stable (name) order for a project.
Result<std::vector<podman::ContainerInfo>> gather(podman::Engine& engine, const PlanRequest& request,
                                                  std::string& workspace_id, std::string& primary) {
  const std::string& label = engine.config().workspace_label;
  std::vector<podman::ContainerInfo> containers;
  if (request.project.empty()) {
    auto ws = engine.find_workspace(request.workspace);
    if (!ws) return ws.error();
    containers.push_back(ws->container);
  } else {
    auto listed = engine.client().list_containers(std::string(podman::kComposeProjectLabel) + "=" + request.project);
    if (!listed) return listed.error();
    if (listed->empty()) {
      return Error(ErrorCode::kNotFound, "no container is labelled " + std::string(podman::kComposeProjectLabel) + "=" +
                                             request.project + " on this node; check it with `podman ps -a`");
    }
    for (const auto& summary : *listed) {
      auto info = engine.client().inspect_container(summary.id);
      if (!info) return info.error();
      containers.push_back(std::move(*info));
    }
    std::sort(containers.begin(), containers.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    // One container per service, exactly one devcontainer: else it cannot
    // move as one workspace.
    if (auto st = podman::check_project(request.project, containers, label); !st) return st.error();
  }
  for (const auto& c : containers) {
    auto it = c.labels.find(label);
    if (it == c.labels.end() || it->second.empty()) continue;
    if (!workspace_id.empty() && workspace_id != it->second) {
      return Error(ErrorCode::kInvalidArgument, "project " + request.project + " holds two workspaces (" + workspace_id +
                                                    " and " + it->second + "); move them one at a time");
    }
    workspace_id = it->second;
    primary = c.name;
  }
  if (workspace_id.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "no container of " + (request.project.empty() ? "'" + request.workspace + "'" : "project " + request.project) +
                     " has a " + label + " label, so it is not a workspace and was not touched; label it or choose "
                     "the label that holds the workspace id");
  }
  return containers;
}

}  // namespace

std::string plan_key(std::string_view workspace_id, std::string_view checkpoint_id) {
  return store::layout::checkpoint_prefix(workspace_id, checkpoint_id) + "plan.json";
}

Result<Plan> make_plan(NodeServices& node, const PlanRequest& request) {
  auto caps = node.engine.capabilities();
  if (!caps) return caps.error();
  if (!caps->checkpoint) return Error(ErrorCode::kUnsupported, "this node cannot checkpoint: " + caps->why_not);

  Plan plan;
  auto containers = gather(node.engine, request, plan.workspace_id, plan.primary);
  if (!containers) return containers.error();
  plan.containers = std::move(*containers);
  plan.project = request.project;
  plan.checkpoint = request.checkpoint;
  plan.restore = request.restore;
  plan.restore.tcp_established = plan.restore.tcp_established || plan.checkpoint.tcp_established;
  plan.restore.file_locks = plan.restore.file_locks || plan.checkpoint.file_locks;
  plan.checkpoint_id = request.checkpoint_id.empty() ? store::make_checkpoint_id(node.clock.wall_now())
                                                     : request.checkpoint_id;
  plan.source_node = node.node;
  plan.created_at = utc_rfc3339(node.clock.wall_now());
  if (auto st = validate_plan(plan); !st) return st.error().wrap("the workspace was not touched");
  for (const auto& c : plan.containers) {
    if (auto st = node.engine.check_checkpointable(c, plan.checkpoint); !st) {
      return st.error().wrap("container " + c.name + ": the workspace was not touched");
    }
  }

  // A repeat of the same checkpoint (a retry, a restarted process) gets the
  // plan already written rather than a second one.
  if (auto existing = read_plan(node, plan.workspace_id, plan.checkpoint_id); existing) {
    if (existing->source_node != node.node) {
      return Error(ErrorCode::kConflict, "checkpoint " + plan.checkpoint_id + " was planned by node " +
                                             existing->source_node + "; choose another checkpoint id");
    }
    return existing;
  } else if (existing.error().code() != ErrorCode::kNotFound) {
    return existing.error();
  }

  JournalEntry entry{plan.checkpoint_id, plan.workspace_id, Phase::kCheckpoint, Step::kPlanned, node.node,
                     node.checkpoints.objects().describe(), {}, node.clock.wall_now(), node.clock.wall_now(), ""};
  for (const auto& c : plan.containers) entry.containers.push_back(c.name);
  if (auto st = node.journal.record(entry); !st) return st.error().wrap("the workspace was not touched");

  WorkspaceLock lock(node.documents, node.verify_keys(), plan.workspace_id);
  auto held = lock.acquire(node.node, plan.checkpoint_id, node.settings.lock_ttl);
  if (!held) {
    (void)node.journal.finish(plan.workspace_id, plan.checkpoint_id, Phase::kCheckpoint);
    return held.error().wrap("the workspace was not touched");
  }
  node.faults.reach("plan.after-lock");
  const std::string text = serialize_plan(plan, node.signing_key());
  plan.document_sha256 = store::sha256_hex(text);
  Status written = node.documents.create_exclusive(plan_key(plan.workspace_id, plan.checkpoint_id), text);
  if (!written) {
    (void)lock.release(node.node, plan.checkpoint_id);
    (void)node.journal.finish(plan.workspace_id, plan.checkpoint_id, Phase::kCheckpoint);
    return written.error().wrap("writing the plan; the workspace was not touched");
  }
  return plan;
}

Result<Plan> read_plan(NodeServices& node, const std::string& workspace_id, const std::string& checkpoint_id) {
  for (auto st : {store::validate_name(workspace_id, "workspace id"), store::validate_name(checkpoint_id, "checkpoint id")}) {
    if (!st) return st.error();
  }
  auto text = node.documents.read(plan_key(workspace_id, checkpoint_id));
  if (!text) return text.error();
  if (!text->has_value()) {
    return Error(ErrorCode::kNotFound, "checkpoint " + checkpoint_id + " of workspace " + workspace_id +
                                           " has no plan in " + node.checkpoints.objects().describe());
  }
  if ((*text)->size() > kMaxPlanSize) return Error(ErrorCode::kIntegrity, "the plan is larger than 1 MiB: refusing it");
  auto plan = parse_plan(**text, node.verify_keys());
  if (!plan) return plan.error();
  plan->document_sha256 = store::sha256_hex(**text);
  // A genuine plan copied under another checkpoint must not pass for it.
  if (plan->workspace_id != workspace_id || plan->checkpoint_id != checkpoint_id) {
    return Error(ErrorCode::kIntegrity, "the plan stored for checkpoint " + checkpoint_id + " describes checkpoint " +
                                            plan->checkpoint_id + " of workspace " + plan->workspace_id +
                                            ": it was swapped; refusing it");
  }
  return plan;
}

Status preflight_plan(podman::Engine& destination, const Plan& plan) {
  auto caps = destination.capabilities();
  if (!caps) return caps.error();
  if (!caps->checkpoint) return Error(ErrorCode::kUnsupported, "this node cannot restore: " + caps->why_not);
  for (const auto& c : plan.containers) {
    podman::RestoreOptions options = plan.restore;
    if (options.name && c.name != plan.primary) options.name.reset();  // a new name is the primary's
    if (auto st = destination.preflight(c, options, /*check_image=*/false); !st) {
      return st.error().wrap("container " + c.name);
    }
    // Absent is fine (it will be shipped); the same name with another id is not.
    if (auto image = destination.has_image(c); !image) return image.error().wrap("container " + c.name);
  }
  return Ok{};
}

}  // namespace wscp::migration
