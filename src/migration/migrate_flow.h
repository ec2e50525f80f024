#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "migration/checkpoint_phase.h"
#include "migration/plan_phase.h"
#include "migration/restore_phase.h"

namespace wscp::migration {

enum class Outcome {
  kMigrated,      // running on the destination; the source copy is released
  kKeptOnSource,  // a step failed (see failure); running on the source again
  kStopped,       // not whole in one place (see the lists below): a person decides; the journal and the store keep it
};
std::string_view to_string(Outcome outcome);

struct MigrationReport {
  Outcome outcome = Outcome::kMigrated;
  Plan plan;
  std::optional<Sealed> sealed;
  std::optional<Restored> restored;
  std::vector<podman::Workspace> running;  // where the workspace runs now
  // When the outcome is not kMigrated: containers (by name on each node)
  // that run on the destination only, and containers that run on neither
  // node; with either the workspace is not whole anywhere (kStopped).
  std::vector<std::string> on_destination_only;
  std::vector<std::string> not_running;
  std::vector<std::string> on_both;  // two copies run: a person must stop one
  std::vector<std::string> unknown;  // a node's Podman did not answer
  std::optional<Error> failure;
  std::vector<std::string> warnings;
  std::chrono::milliseconds checkpoint_duration{0};
  std::chrono::milliseconds restore_duration{0};
  // From the start of the checkpoint to the workspace settled on the
  // destination (the two overlap when cut through).
  std::chrono::milliseconds move_duration{0};
  bool cut_through = false;  // the destination restored while the archive was written
};

struct MigrateOptions {
  // Restore while the checkpoint is written (see restore_workspace); off:
  // the destination starts once the checkpoint is sealed.
  bool cut_through = true;
  CutThrough follow;
};

// Drives the phases from one process that reaches both nodes (the one-shot
// CLI; in a cluster the controller drives the same phases through the
// agents): plan on the source, pre-flight on the destination, checkpoint,
// restore, then release the source, or resume it when anything after the
// plan failed. This driver alone decides between restore and resume.
// Cut through (the default), the restore runs beside the checkpoint, reading
// the archive as it is written; when either side fails the other is
// cancelled, and the workspace is resumed on the source once the
// destination has given its claim up.
// A compose project is checked first (one container per service, exactly
// one primary: podman::check_project). An Error means the workspace was not
// touched.
Result<MigrationReport> migrate_workspace(NodeServices& source, NodeServices& destination, const PlanRequest& request,
                                          const OperationContext& ctx, const MigrateOptions& options = {});

}  // namespace wscp::migration
