#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "migration/document_log.h"
#include "store/encryption_key.h"

namespace wscp::migration {

// Once a checkpoint is sealed, exactly one of two things may happen to its
// workspace: it is restored on a destination, or resumed on its source. The
// checkpoint's claim, a log in the store (DocumentLog), records which:
//
//   none ──restore──> restoring(n) ──> restored(n)      final: release the source
//     │                    │
//     │                    └──abandon──> abandoned ──> (restoring | resuming)
//     └──resume──> resuming(n) ──> resumed(n)           final: the checkpoint is stale
//
// Only the restoring node abandons its own attempt, after it removed what it
// made; a person or the controller may force it for a node that is gone.
// Repeating a step you already took is a no-op, so a phase rerun after a
// crash carries on.
enum class ClaimState { kNone, kRestoring, kRestored, kAbandoned, kResuming, kResumed };
std::string_view to_string(ClaimState state);

struct Claim {
  ClaimState state = ClaimState::kNone;
  std::string node;    // who took the last step
  std::string reason;  // why a restore was abandoned
  std::chrono::system_clock::time_point at{};  // by the store's clock
  std::uint64_t generation = 0;
};

enum class ClaimStep { kBeginRestore, kFinishRestore, kAbandonRestore, kForceAbandon, kBeginResume, kFinishResume };

// The state a step leads to from `current` when `node` takes it, or
// kConflict saying who holds the checkpoint; nullopt-like "already there"
// is reported through `unchanged`.
Result<ClaimState> next_claim_state(const Claim& current, ClaimStep step, const std::string& node, bool& unchanged);

// workspaces/<ws>/checkpoints/<id>/claim/
std::string claim_prefix(std::string_view workspace_id, std::string_view checkpoint_id);

class ClaimLog {
 public:
  ClaimLog(DocumentStore& store, const store::Keyring& keys, const std::string& workspace_id,
           const std::string& checkpoint_id);

  Result<Claim> current();
  // Takes a step; returns the claim after it.
  Result<Claim> take(ClaimStep step, const std::string& node, const std::string& reason = "");

 private:
  DocumentStore& store_;
  std::string checkpoint_id_;
  DocumentLog log_;
};

}  // namespace wscp::migration
