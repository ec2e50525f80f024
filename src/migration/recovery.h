#pragma once

#include <optional>
#include <string>
#include <vector>

#include "migration/node_services.h"
#include "migration/recovery_action.h"

namespace wscp::migration {

struct Recovered {
  JournalEntry entry;
  RecoveryAction action = RecoveryAction::kFailed;
  std::string outcome;          // what was done, for people and logs
  bool pending = false;         // still waiting (for the decision, or a retry)
  std::optional<Error> error;   // a step that failed again
};

// What a process does when it starts (or `wscp-agent resume --pending`):
// every journal entry this node left is finished or undone, within the one
// rule that after the seal only the claim decides between restore and
// resume:
//   checkpoint planned   nothing frozen: the lock is freed
//   checkpoint dumping   sealed after all: waits for the decision; else the
//                        source resumes (it may decide alone before the seal)
//   checkpoint sealed    restored elsewhere: released; resumed: done; else waits
//   restore              settled: kept and marked restored; else removed, abandoned
//   release, resume      done again (both are idempotent)
Result<std::vector<Recovered>> recover_pending(NodeServices& node, const OperationContext& ctx);

}  // namespace wscp::migration
