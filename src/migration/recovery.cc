#include "migration/recovery.h"

#include "migration/checkpoint_phase.h"
#include "migration/claim.h"
#include "migration/plan_phase.h"
#include "migration/restore_phase.h"
#include "migration/source_phases.h"
#include "migration/workspace_lock.h"

namespace wscp::migration {

namespace {

Recovered done(const JournalEntry& e, RecoveryAction action, std::string outcome) {
  return Recovered{e, action, std::move(outcome), false, std::nullopt};
}
Recovered waiting(const JournalEntry& e, RecoveryAction action, std::string outcome) {
  return Recovered{e, action, std::move(outcome), true, std::nullopt};
}
Recovered failed(const JournalEntry& e, const Error& error) {
  return Recovered{e, RecoveryAction::kFailed, "failed again", true, error};
}

Recovered after_seal(NodeServices& node, const JournalEntry& e, const OperationContext& ctx) {
  auto claim = ClaimLog(node.documents, node.verify_keys(), e.workspace_id, e.checkpoint_id).current();
  if (!claim) return failed(e, claim.error());
  switch (claim->state) {
    case ClaimState::kRestored: {
      auto st = release_source(node, e.workspace_id, e.checkpoint_id, ctx);
      return st ? done(e, RecoveryAction::kReleased, "restored on node " + claim->node + "; the source copy was released") : failed(e, st.error());
    }
    case ClaimState::kResumed:
    case ClaimState::kResuming: {
      if (claim->node != node.node) break;
      auto back = resume_source(node, e.workspace_id, e.checkpoint_id, ctx);
      return back ? done(e, RecoveryAction::kResumedOnSource, "resumed on the source") : failed(e, back.error());
    }
    default:
      break;
  }
  return waiting(e, RecoveryAction::kAwaitingDecision, "sealed; claim is " + std::string(to_string(claim->state)) +
                            ": waiting for the decision to restore it elsewhere or resume it here");
}

Recovered recover_checkpoint(NodeServices& node, const JournalEntry& e, const OperationContext& ctx) {
  if (e.step == Step::kPlanned) {
    auto st = WorkspaceLock(node.documents, node.verify_keys(), e.workspace_id).release(node.node, e.checkpoint_id);
    if (!st) return failed(e, st.error());
    (void)node.journal.finish(e.workspace_id, e.checkpoint_id, Phase::kCheckpoint);
    return done(e, RecoveryAction::kLockFreed, "nothing was frozen; the workspace lock was freed");
  }
  if (e.step == Step::kDumping) {
    auto plan = read_plan(node, e.workspace_id, e.checkpoint_id);
    if (!plan) return failed(e, plan.error());
    auto sealed = read_sealed(node, *plan);
    if (sealed) {
      JournalEntry now_sealed = e;
      now_sealed.step = Step::kSealed;
      now_sealed.updated = node.clock.wall_now();
      (void)node.journal.record(now_sealed);
      return after_seal(node, now_sealed, ctx);
    }
    if (sealed.error().code() != ErrorCode::kNotFound) return failed(e, sealed.error());
    auto back = resume_source(node, e.workspace_id, e.checkpoint_id, ctx);
    if (!back) {
      auto claim = ClaimLog(node.documents, node.verify_keys(), e.workspace_id, e.checkpoint_id).current();
      if (back.error().code() == ErrorCode::kConflict && claim && claim->state == ClaimState::kRestoring &&
          claim->node != node.node) {
        // A cut-through restore holds the claim; without a seal it can make
        // nothing, and it gives the claim up once it sees no more segments.
        return waiting(e, RecoveryAction::kAwaitingRestorer,
                       "died before the seal while node " + claim->node +
                           " was restoring the checkpoint as it was written; that restore gives up without a seal "
                           "(or run `wscp-agent resume --pending` there), then run `resume --pending` here again");
      }
      return failed(e, back.error());
    }
    return done(e, RecoveryAction::kResumedOnSource, "died before the seal; the workspace runs on the source again");
  }
  return after_seal(node, e, ctx);
}

Recovered recover_one(NodeServices& node, const JournalEntry& e, const OperationContext& ctx) {
  switch (e.phase) {
    case Phase::kCheckpoint:
      return recover_checkpoint(node, e, ctx);
    case Phase::kRestore: {
      auto r = finish_interrupted_restore(node, e.workspace_id, e.checkpoint_id, ctx);
      if (r) return done(e, RecoveryAction::kRestoreKept, "the interrupted restore had settled; it is kept");
      auto still = node.journal.find(e.workspace_id, e.checkpoint_id, Phase::kRestore);
      if (still && !still->has_value())
        return done(e, RecoveryAction::kRestoreUndone, "the interrupted restore was undone: " + r.error().message());
      return failed(e, r.error());
    }
    case Phase::kRelease: {
      auto st = release_source(node, e.workspace_id, e.checkpoint_id, ctx);
      return st ? done(e, RecoveryAction::kReleased, "the source copy was released") : failed(e, st.error());
    }
    case Phase::kResume: {
      auto back = resume_source(node, e.workspace_id, e.checkpoint_id, ctx);
      return back ? done(e, RecoveryAction::kResumedOnSource, "the workspace runs on the source again")
                  : failed(e, back.error());
    }
  }
  return failed(e, Error(ErrorCode::kInternal, "unknown phase"));
}

}  // namespace

Result<std::vector<Recovered>> recover_pending(NodeServices& node, const OperationContext& ctx) {
  auto entries = node.journal.pending();
  if (!entries) return entries.error();
  std::vector<Recovered> report;
  for (const auto& e : *entries) {
    if (e.node != node.node) {
      report.push_back(waiting(e, RecoveryAction::kLeftToOwner, "belongs to node " + e.node + ", not " + node.node + ": left alone"));
      continue;
    }
    report.push_back(recover_one(node, e, ctx));
  }
  return report;
}

}  // namespace wscp::migration
