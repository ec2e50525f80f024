#include "migration/recovery_action.h"

#include <utility>

namespace wscp::migration {

namespace {
constexpr std::pair<RecoveryAction, std::string_view> kActionNames[] = {
    {RecoveryAction::kLockFreed, "lock-freed"},
    {RecoveryAction::kResumedOnSource, "resumed-on-source"},
    {RecoveryAction::kReleased, "released"},
    {RecoveryAction::kAwaitingDecision, "awaiting-decision"},
    {RecoveryAction::kAwaitingRestorer, "awaiting-restorer"},
    {RecoveryAction::kRestoreKept, "restore-kept"},
    {RecoveryAction::kRestoreUndone, "restore-undone"},
    {RecoveryAction::kLeftToOwner, "left-to-owner"},
    {RecoveryAction::kAlreadyFinished, "already-finished"},
    {RecoveryAction::kFailed, "failed"},
};
}  // namespace

std::string_view to_string(RecoveryAction action) {
  for (const auto& [a, name] : kActionNames)
    if (a == action) return name;
  return "failed";
}

std::optional<RecoveryAction> recovery_action_from_string(std::string_view text) {
  for (const auto& [a, name] : kActionNames)
    if (name == text) return a;
  return std::nullopt;
}

}  // namespace wscp::migration
