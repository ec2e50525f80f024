#include "migration/recovery_action.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace wscp::migration;

TEST_CASE("recovery actions: every action has its own stable name, read back as itself") {
  const RecoveryAction all[] = {RecoveryAction::kLockFreed,        RecoveryAction::kResumedOnSource,
                                RecoveryAction::kReleased,         RecoveryAction::kAwaitingDecision,
                                RecoveryAction::kAwaitingRestorer,
                                RecoveryAction::kRestoreKept,      RecoveryAction::kRestoreUndone,
                                RecoveryAction::kLeftToOwner,      RecoveryAction::kAlreadyFinished,
                                RecoveryAction::kFailed};
  std::set<std::string> names;
  for (auto a : all) {
    const std::string name(to_string(a));
    CHECK(names.insert(name).second);
    CHECK(recovery_action_from_string(name) == a);
  }
  CHECK(to_string(RecoveryAction::kResumedOnSource) == "resumed-on-source");
  CHECK_FALSE(recovery_action_from_string("Resumed-On-Source").has_value());
  CHECK_FALSE(recovery_action_from_string("").has_value());
}
