#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "migration/document_store.h"
#include "store/encryption_key.h"

namespace wscp::migration {

// Once a checkpoint is sealed, exactly one of two things may happen to the
// workspace: it is restored on a destination, or resumed on its source.
// Whoever acts first takes the checkpoint's claim (created at most once in
// the store); the other side then refuses. Taking the claim you already
// hold is a no-op, so a phase repeated after a crash carries on.
enum class ClaimAction { kRestore, kResume };
std::string_view to_string(ClaimAction action);

struct Claim {
  ClaimAction action = ClaimAction::kRestore;
  std::string node;
  std::string workspace_id;
  std::string checkpoint_id;
  std::chrono::system_clock::time_point at{};  // by the store's clock
};

// workspaces/<ws>/checkpoints/<id>/claim.json
std::string claim_key(std::string_view workspace_id, std::string_view checkpoint_id);

// Takes the claim for `action` by `node`, or returns it when this node
// already holds it for the same action. kConflict (naming the holder) when
// another action or node holds it.
Result<Claim> take_claim(DocumentStore& store, const store::EncryptionKey* key, ClaimAction action,
                         const std::string& node, const std::string& workspace_id, const std::string& checkpoint_id);

// The claim, if anyone took it (authenticated; a forged one is an error).
Result<std::optional<Claim>> read_claim(DocumentStore& store, const store::EncryptionKey* key,
                                        const std::string& workspace_id, const std::string& checkpoint_id);

}  // namespace wscp::migration
