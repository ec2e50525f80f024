#include "migration/source_phases.h"

#include "migration/checkpoint_phase.h"
#include "migration/claim.h"
#include "migration/plan_phase.h"
#include "migration/source_recovery.h"
#include "migration/workspace_lock.h"

namespace wscp::migration {
namespace {

JournalEntry entry_for(NodeServices& node, const Plan& plan, Phase phase, Step step) {
  JournalEntry e{plan.checkpoint_id, plan.workspace_id, phase, step, node.node, node.checkpoints.objects().describe(),
                 {}, node.clock.wall_now(), node.clock.wall_now(), ""};
  for (const auto& c : plan.containers) e.containers.push_back(c.name);
  return e;
}

Status check_source(NodeServices& node, const Plan& plan) {
  if (plan.source_node != node.node) {
    return Error(ErrorCode::kInvalidArgument, "checkpoint " + plan.checkpoint_id + " was made on node " +
                                                  plan.source_node + ", not on " + node.node +
                                                  ": run this on the source node");
  }
  return Ok{};
}

void finish_all(NodeServices& node, const Plan& plan, Phase phase) {
  (void)WorkspaceLock(node.documents, node.verify_keys(), plan.workspace_id).release(node.node, plan.checkpoint_id);
  (void)node.journal.finish(plan.workspace_id, plan.checkpoint_id, phase);
  (void)node.journal.finish(plan.workspace_id, plan.checkpoint_id, Phase::kCheckpoint);
}

}  // namespace

Status release_source(NodeServices& node, const std::string& workspace_id, const std::string& checkpoint_id,
                      const OperationContext& ctx) {
  (void)ctx;
  auto plan = read_plan(node, workspace_id, checkpoint_id);
  if (!plan) return plan.error();
  if (auto st = check_source(node, *plan); !st) return st;
  auto claim = ClaimLog(node.documents, node.verify_keys(), workspace_id, checkpoint_id).current();
  if (!claim) return claim.error();
  if (claim->state != ClaimState::kRestored) {
    return Error(ErrorCode::kConflict, "checkpoint " + checkpoint_id + " is " + std::string(to_string(claim->state)) +
                                           (claim->node.empty() ? "" : " by node " + claim->node) +
                                           ", not restored: the source copy is the workspace's and stays");
  }
  if (auto st = node.journal.record(entry_for(node, *plan, Phase::kRelease, Step::kReleasing)); !st) return st;
  node.faults.reach("release.before-remove");
  for (const auto& c : plan->containers) {
    auto found = node.engine.client().inspect_container(c.id);
    if (!found) {
      if (found.error().code() == ErrorCode::kNotFound) continue;  // removed before
      return found.error();
    }
    if (found->running()) {
      return Error(ErrorCode::kConflict, "container " + c.name + " runs on the source although checkpoint " +
                                             checkpoint_id + " was restored elsewhere: leaving both for a person "
                                             "to decide (two copies of the workspace are running)");
    }
    if (auto st = node.engine.client().remove_container(c.id, true); !st) return st.error().wrap("removing " + c.name);
  }
  finish_all(node, *plan, Phase::kRelease);
  return Ok{};
}

Result<std::vector<podman::Workspace>> resume_source(NodeServices& node, const std::string& workspace_id,
                                                     const std::string& checkpoint_id, const OperationContext& ctx) {
  auto plan = read_plan(node, workspace_id, checkpoint_id);
  if (!plan) return plan.error();
  if (auto st = check_source(node, *plan); !st) return st.error();
  ClaimLog claim(node.documents, node.verify_keys(), workspace_id, checkpoint_id);
  auto current = claim.current();
  if (!current) return current.error();
  const bool resumed_before = current->state == ClaimState::kResumed && current->node == node.node;
  if (auto st = node.journal.record(entry_for(node, *plan, Phase::kResume, Step::kResuming)); !st) return st.error();
  auto taken = resumed_before ? Result<Claim>(*current) : claim.take(ClaimStep::kBeginResume, node.node);
  if (!taken) {
    (void)node.journal.finish(workspace_id, checkpoint_id, Phase::kResume);
    return taken.error();
  }
  node.faults.reach("resume.before-restore");
  std::optional<store::Manifest> sealed;
  if (auto manifest = read_sealed(node, *plan); manifest) {
    sealed = std::move(*manifest);
  } else if (manifest.error().code() != ErrorCode::kNotFound && manifest.error().code() != ErrorCode::kIntegrity &&
             manifest.error().code() != ErrorCode::kPermissionDenied && manifest.error().code() != ErrorCode::kInvalidArgument) {
    return manifest.error();  // unreadable for now: try again
  }
  // A manifest that does not verify is no archive to fall back on, but the
  // checkpoint Podman kept may still restore in place.
  auto back = bring_back_on_source(node, *plan, sealed, ctx);
  if (!back) return back.error();  // the journal keeps it for another try
  if (!resumed_before) {
    if (auto st = claim.take(ClaimStep::kFinishResume, node.node); !st) return st.error();
  }
  finish_all(node, *plan, Phase::kResume);
  return back;
}

}  // namespace wscp::migration
