#pragma once

#include <optional>
#include <string_view>

namespace wscp::migration {

// What recovery did with one journal entry: a stable name a controller can
// act on (to_string), where `outcome` is the sentence for people.
enum class RecoveryAction {
  kLockFreed,         // "lock-freed": the checkpoint froze nothing; its lock was freed
  kResumedOnSource,   // "resumed-on-source": the workspace runs on this node again
  kReleased,          // "released": restored elsewhere; this node's copy was released
  kAwaitingDecision,  // "awaiting-decision": sealed; restore elsewhere or resume here is still open
  kAwaitingRestorer,  // "awaiting-restorer": not sealed, but another node's cut-through restore holds the
                      // claim; once it gives up, the next recovery resumes here
  kRestoreKept,       // "restore-kept": the interrupted restore had settled and is kept
  kRestoreUndone,     // "restore-undone": the interrupted restore was removed and abandoned
  kLeftToOwner,       // "left-to-owner": another node's entry, not touched
  kAlreadyFinished,   // "already-finished": no journal entry remained; the phase had ended
  kFailed,            // "failed": a step failed again; see error, retried later
};
std::string_view to_string(RecoveryAction action);
// The action named `text`; nullopt for a name this version does not know.
std::optional<RecoveryAction> recovery_action_from_string(std::string_view text);

}  // namespace wscp::migration
