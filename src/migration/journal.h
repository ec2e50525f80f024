#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

#include "common/unique_fd.h"

namespace wscp::migration {

// The node-local phases of a migration. Each runs on one node only.
enum class Phase { kCheckpoint, kRestore, kRelease, kResume };

// Where a phase is. Recorded (durably) before the step's action starts, so a
// process that dies during the action knows on its next start what it may
// have done and finishes or undoes it.
enum class Step {
  kPlanned,    // checkpoint: plan written, workspace lock held, nothing frozen
  kDumping,    // checkpoint: Podman asked to dump (keep=true) and export
  kSealed,     // checkpoint: manifest durable; only the driver decides now
  kRestoring,  // restore: claim won, Podman asked to import
  kSettling,   // restore: an archive's end went to Podman: a container may appear even if this process dies
  kReleasing,  // release: removing the source's stopped copy and kept checkpoint
  kResuming,   // resume: claim won, bringing the workspace back on the source
};

std::string_view to_string(Phase phase);
std::string_view to_string(Step step);
Result<Phase> parse_phase(std::string_view text);
Result<Step> parse_step(std::string_view text);

// One phase's record. Plain facts only: Podman and the store are the truth
// that recovery re-reads; the entry says which questions to ask them.
struct JournalEntry {
  static constexpr int kVersion = 1;

  std::string checkpoint_id;
  std::string workspace_id;
  Phase phase = Phase::kCheckpoint;
  Step step = Step::kPlanned;
  std::string node;                     // the node this process acts for
  std::string store;                    // where the archives go ("s3://b/p")
  std::vector<std::string> containers;  // names of the containers involved
  std::chrono::system_clock::time_point started{};
  std::chrono::system_clock::time_point updated{};
  std::string note;                     // the last failure, for people
};

// Durable, local record of the steps this node's phases took, keyed by
// workspace, checkpoint id and phase (workspaces checkpointed together may
// share a checkpoint id: a termination notice's).
class Journal {
 public:
  virtual ~Journal() = default;
  // Durable when it returns (written, fsynced, renamed into place).
  virtual Status record(const JournalEntry& entry) = 0;
  virtual Result<std::optional<JournalEntry>> find(std::string_view workspace_id, std::string_view checkpoint_id,
                                                   Phase phase) = 0;
  // Every unfinished entry, oldest first. An entry that cannot be read is
  // an error naming its file, never silently skipped.
  virtual Result<std::vector<JournalEntry>> pending() = 0;
  // The phase is done (or undone): its entry goes.
  virtual Status finish(std::string_view workspace_id, std::string_view checkpoint_id, Phase phase) = 0;
};

// A directory of JSON files (0600, directory 0700), one per workspace,
// checkpoint and phase: <dir>/<workspace-id>~<checkpoint-id>.<phase>.json
// ('~' is in neither id). Entries of the first version,
// <checkpoint-id>.<phase>.json, are still found, listed and finished.
// One process at a time: open() takes an exclusive lock on `<dir>/.lock`
// (flock: the kernel lets go of it when the process dies, kill -9 too), so
// a verb cannot run on the journal of a running daemon or of another verb,
// where each would take the other's steps for a crashed run and undo them.
class DirectoryJournal final : public Journal {
 public:
  // kConflict when another process (or another open in this one) holds it.
  static Result<std::unique_ptr<DirectoryJournal>> open(std::filesystem::path dir);

  Status record(const JournalEntry& entry) override;
  Result<std::optional<JournalEntry>> find(std::string_view workspace_id, std::string_view checkpoint_id,
                                           Phase phase) override;
  Result<std::vector<JournalEntry>> pending() override;
  Status finish(std::string_view workspace_id, std::string_view checkpoint_id, Phase phase) override;

  const std::filesystem::path& dir() const { return dir_; }

 private:
  DirectoryJournal(std::filesystem::path dir, UniqueFd lock) : dir_(std::move(dir)), lock_(std::move(lock)) {}
  std::filesystem::path path_of(std::string_view workspace_id, std::string_view checkpoint_id, Phase phase) const;
  std::filesystem::path legacy_path_of(std::string_view checkpoint_id, Phase phase) const;
  // The entry at `path` if there is one and it is the workspace's.
  Result<std::optional<JournalEntry>> read_entry(const std::filesystem::path& path, std::string_view workspace_id);

  std::filesystem::path dir_;
  UniqueFd lock_;  // held while this journal is open
};

// The JSON form of an entry, validated field by field on the way in.
std::string serialize(const JournalEntry& entry);
Result<JournalEntry> parse_journal_entry(std::string_view text);

}  // namespace wscp::migration
