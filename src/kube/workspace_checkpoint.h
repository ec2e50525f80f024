#pragma once

// The WorkspaceCheckpoint custom resource (crds/wscp.dev_workspacecheckpoints.yaml)
// as value types. Each type has one JSON conversion: from_json (given the
// field's path for its messages) validates
// every field the way the CRD's schema and CEL rules do (with the same
// messages for the CEL rules) and to_json writes the JSON the API server
// stores. Fields unknown to this version are ignored on reading: the API
// server prunes what the schema does not know, and a newer CRD may add
// fields. A test checks that these types and the schema name the same
// fields (test/unit/kube/workspace_checkpoint_test.cc).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace wscp::kube {

inline constexpr std::string_view kWorkspaceCheckpointGroup = "wscp.dev";
inline constexpr std::string_view kWorkspaceCheckpointVersion = "v1alpha1";
inline constexpr std::string_view kWorkspaceCheckpointApiVersion = "wscp.dev/v1alpha1";
inline constexpr std::string_view kWorkspaceCheckpointKind = "WorkspaceCheckpoint";
inline constexpr std::string_view kWorkspaceCheckpointPlural = "workspacecheckpoints";

using Time = std::chrono::system_clock::time_point;

// ---- enums (each with to_string and parse_*, which names the allowed values) ----

enum class CheckpointReason { kManual, kSpotInterruption, kRebalance, kMaintenance, kDrain };
enum class CheckpointPhase { kPending, kCheckpointing, kCheckpointed, kRestoring, kRestored, kFailed };
enum class ConditionStatus { kTrue, kFalse, kUnknown };
enum class CompressionAlgorithm { kZstd, kNone };
enum class CheckpointStep { kPlan, kPreflight, kCheckpoint, kShipImage, kRestore, kRelease, kResume, kDeleteArchive };
enum class MigrationDecision { kRestore, kResume };

std::string_view to_string(CheckpointReason v);
std::string_view to_string(CheckpointPhase v);
std::string_view to_string(ConditionStatus v);
std::string_view to_string(CompressionAlgorithm v);
std::string_view to_string(CheckpointStep v);
std::string_view to_string(MigrationDecision v);
Result<CheckpointReason> parse_checkpoint_reason(std::string_view text);
Result<CheckpointPhase> parse_checkpoint_phase(std::string_view text);
Result<ConditionStatus> parse_condition_status(std::string_view text);
Result<CompressionAlgorithm> parse_compression_algorithm(std::string_view text);
Result<CheckpointStep> parse_checkpoint_step(std::string_view text);
Result<MigrationDecision> parse_migration_decision(std::string_view text);

// Checkpointed, Restored and Failed without anything left to do.
bool is_final(CheckpointPhase phase, bool has_destination);

// Condition types (status.conditions[].type).
inline constexpr std::string_view kConditionWorkspaceRunning = "WorkspaceRunning";
inline constexpr std::string_view kConditionCheckpointed = "Checkpointed";
inline constexpr std::string_view kConditionRestored = "Restored";
inline constexpr std::string_view kConditionDeadlineMet = "DeadlineMet";
inline constexpr std::string_view kConditionSourceReleased = "SourceReleased";

// The most times a migration takes its checkpoint again after a restart of
// the source's agent interrupted it (status.checkpointRetakes).
inline constexpr std::int64_t kMaxCheckpointRetakes = 2;

// ---- spec ----

// spec.workspace: exactly one of container (with node), workspace_id and
// compose_project.
struct WorkspaceRef {
  std::optional<std::string> node;  // the source node
  std::optional<std::string> container;
  std::optional<std::string> workspace_id;
  std::optional<std::string> compose_project;

  nlohmann::json to_json() const;
  static Result<WorkspaceRef> from_json(const nlohmann::json& j, std::string_view path = "spec.workspace");
  bool operator==(const WorkspaceRef&) const = default;
};

// spec.restoreFrom: another WorkspaceCheckpoint in the same namespace.
struct RestoreFrom {
  std::string name;

  nlohmann::json to_json() const;
  static Result<RestoreFrom> from_json(const nlohmann::json& j, std::string_view path = "spec.restoreFrom");
  bool operator==(const RestoreFrom&) const = default;
};

// spec.destination: a node, a node selector, or neither (the controller
// chooses).
struct Destination {
  std::optional<std::string> node;
  std::map<std::string, std::string> node_selector;  // empty: absent

  bool automatic() const { return !node && node_selector.empty(); }
  nlohmann::json to_json() const;
  static Result<Destination> from_json(const nlohmann::json& j, std::string_view path = "spec.destination");
  bool operator==(const Destination&) const = default;
};

// spec.checkpoint. false and absent mean the same; to_json writes true only.
struct CheckpointSettings {
  bool tcp_established = false;
  bool file_locks = false;
  bool ignore_rootfs = false;
  bool leave_running = false;

  nlohmann::json to_json() const;
  static Result<CheckpointSettings> from_json(const nlohmann::json& j, std::string_view path = "spec.checkpoint");
  bool operator==(const CheckpointSettings&) const = default;
};

// spec.restore.
struct RestoreSettings {
  bool ignore_volumes = false;
  std::optional<std::string> new_name;

  nlohmann::json to_json() const;
  static Result<RestoreSettings> from_json(const nlohmann::json& j, std::string_view path = "spec.restore");
  bool operator==(const RestoreSettings&) const = default;
};

// spec.compression; an absent level is the agents' configured level.
struct CompressionSettings {
  CompressionAlgorithm algorithm = CompressionAlgorithm::kZstd;
  std::optional<int> level;  // 1..19, zstd only

  nlohmann::json to_json() const;
  static Result<CompressionSettings> from_json(const nlohmann::json& j, std::string_view path = "spec.compression");
  bool operator==(const CompressionSettings&) const = default;
};

struct WorkspaceCheckpointSpec {
  std::optional<WorkspaceRef> workspace;
  std::optional<RestoreFrom> restore_from;
  std::optional<Destination> destination;  // absent: keep the checkpoint for later
  std::optional<CheckpointSettings> checkpoint;
  std::optional<RestoreSettings> restore;
  std::optional<CompressionSettings> compression;
  std::optional<std::string> store;  // absent: the default store
  std::optional<Time> deadline;
  CheckpointReason reason = CheckpointReason::kManual;
  std::optional<std::int32_t> ttl_seconds_after_finished;

  nlohmann::json to_json() const;
  // Also checks the rules between fields (validate()).
  static Result<WorkspaceCheckpointSpec> from_json(const nlohmann::json& j, std::string_view path = "spec");
  // The CRD's CEL rules between fields, with the same messages and field
  // paths, for a spec built in code before it is sent.
  Status validate(std::string_view path = "spec") const;
  bool operator==(const WorkspaceCheckpointSpec&) const = default;
};

// ---- status ----

// One entry of status.conditions (the metav1.Condition shape).
struct Condition {
  std::string type;
  ConditionStatus status = ConditionStatus::kUnknown;
  std::string reason;
  std::string message;
  std::optional<std::int64_t> observed_generation;
  Time last_transition_time{};

  nlohmann::json to_json() const;
  static Result<Condition> from_json(const nlohmann::json& j, std::string_view path = "status.conditions[]");
  bool operator==(const Condition&) const = default;
};

// status.runningOn: where the workspace runs now.
struct RunningOn {
  std::string node;
  std::optional<std::string> container_id;
  std::optional<std::string> address;

  nlohmann::json to_json() const;
  static Result<RunningOn> from_json(const nlohmann::json& j, std::string_view path = "status.runningOn");
  bool operator==(const RunningOn&) const = default;
};

// status.checkpoint: the archive in the store.
struct CheckpointRecord {
  std::string id;
  std::string store;
  std::int64_t bytes = 0;
  std::optional<std::string> digest;  // "sha256:<64 hex>"
  bool encrypted = false;

  nlohmann::json to_json() const;
  static Result<CheckpointRecord> from_json(const nlohmann::json& j, std::string_view path = "status.checkpoint");
  bool operator==(const CheckpointRecord&) const = default;
};

// status.adopted: a checkpoint the source's agent made on its own (after a
// termination notice), which this migration restores instead of dumping the
// workspace again.
struct AdoptedCheckpoint {
  std::string id;         // the checkpoint's id in the store
  std::string operation;  // the agent's checkpoint operation
  std::optional<std::string> store;  // where the agent wrote it (absent: its only store)

  nlohmann::json to_json() const;
  static Result<AdoptedCheckpoint> from_json(const nlohmann::json& j, std::string_view path = "status.adopted");
  bool operator==(const AdoptedCheckpoint&) const = default;
};

// One entry of status.timings.
struct StepTiming {
  CheckpointStep step = CheckpointStep::kPlan;
  Time started_at{};
  std::optional<Time> finished_at;
  std::optional<std::int64_t> duration_milliseconds;

  nlohmann::json to_json() const;
  static Result<StepTiming> from_json(const nlohmann::json& j, std::string_view path = "status.timings[]");
  bool operator==(const StepTiming&) const = default;
};

// status.criu.checkpoint (microseconds, pages); absent fields read as 0.
struct CriuCheckpointStats {
  std::int64_t freezing_time_us = 0;
  std::int64_t frozen_time_us = 0;
  std::int64_t memdump_time_us = 0;
  std::int64_t memwrite_time_us = 0;
  std::int64_t pages_scanned = 0;
  std::int64_t pages_written = 0;

  nlohmann::json to_json() const;
  static Result<CriuCheckpointStats> from_json(const nlohmann::json& j, std::string_view path = "status.criu.checkpoint");
  bool operator==(const CriuCheckpointStats&) const = default;
};

// status.criu.restore.
struct CriuRestoreStats {
  std::int64_t forking_time_us = 0;
  std::int64_t restore_time_us = 0;
  std::int64_t pages_restored = 0;

  nlohmann::json to_json() const;
  static Result<CriuRestoreStats> from_json(const nlohmann::json& j, std::string_view path = "status.criu.restore");
  bool operator==(const CriuRestoreStats&) const = default;
};

struct CriuStats {
  std::optional<CriuCheckpointStats> checkpoint;
  std::optional<CriuRestoreStats> restore;

  nlohmann::json to_json() const;
  static Result<CriuStats> from_json(const nlohmann::json& j, std::string_view path = "status.criu");
  bool operator==(const CriuStats&) const = default;
};

// status.deadline.
struct DeadlineOutcome {
  bool met = false;
  std::optional<std::int64_t> margin_milliseconds;  // negative when missed

  nlohmann::json to_json() const;
  static Result<DeadlineOutcome> from_json(const nlohmann::json& j, std::string_view path = "status.deadline");
  bool operator==(const DeadlineOutcome&) const = default;
};

struct WorkspaceCheckpointStatus {
  std::optional<CheckpointPhase> phase;
  std::optional<std::int64_t> observed_generation;
  std::vector<Condition> conditions;  // one per type
  std::optional<std::string> source_node;
  std::optional<std::string> destination_node;
  std::optional<std::string> workspace_id;
  std::optional<MigrationDecision> decision;
  std::optional<RunningOn> running_on;
  std::optional<CheckpointRecord> checkpoint;
  std::optional<AdoptedCheckpoint> adopted;
  // How often the checkpoint was taken again after a restart of the
  // source's agent interrupted it before its seal (0: never). The archive
  // and the operations of retake n carry "-r<n>" in their ids.
  std::int64_t checkpoint_retakes = 0;
  std::vector<StepTiming> timings;  // one per step
  std::optional<CriuStats> criu;
  std::optional<DeadlineOutcome> deadline;
  std::optional<Time> finished_at;
  std::string message;

  // The condition of that type, or nullptr.
  const Condition* condition(std::string_view type) const;

  nlohmann::json to_json() const;
  static Result<WorkspaceCheckpointStatus> from_json(const nlohmann::json& j, std::string_view path = "status");
  bool operator==(const WorkspaceCheckpointStatus&) const = default;
};

// RFC 3339 as the API server writes and accepts it: "2026-11-23T11:45:00Z",
// with optional fractional seconds and a numeric offset on reading; UTC with
// the fraction (trailing zeros dropped) only when there is one on writing.
Result<Time> parse_rfc3339(std::string_view text);
std::string format_rfc3339(Time t);

}  // namespace wscp::kube
