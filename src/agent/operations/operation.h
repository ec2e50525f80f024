#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/result.h"
#include "migration/recovery_action.h"

namespace wscp::agent::operations {

// One node-local phase run on the caller's behalf, under the caller's id.
// Every type here has one JSON form (to_json / a from_json that refuses
// unknown fields and says which field is wrong); the API and the records on
// disk both use it.

enum class Kind { kCheckpoint, kRestore, kRelease, kResume, kDelete };
enum class State { kPending, kRunning, kSucceeded, kFailed, kCancelled };

std::string_view to_string(Kind kind);
std::string_view to_string(State state);
Result<Kind> parse_kind(std::string_view text);
Result<State> parse_state(std::string_view text);
bool finished(State state);

// What the caller asks for. Which fields a kind needs:
//   checkpoint  workspace (a container name or id, or a workspace id) or
//               project (a compose project), and checkpointId
//   restore     workspace (the workspace id) and checkpointId
//   release     workspace and checkpointId
//   resume      workspace and checkpointId
//   delete      workspace (the workspace id) and checkpointId: removes the
//               checkpoint's archives once no workspace needs them, then
//               the stored images no checkpoint names (after a grace)
struct Request {
  Kind kind = Kind::kCheckpoint;
  std::string workspace;
  std::string project;
  std::string checkpoint_id;
  std::string store;  // a configured store's name; "" = the only one
  bool tcp_established = false;
  bool file_locks = false;
  // Restore only: begin while the checkpoint is still being written (its
  // plan may not exist yet either); see migration::restore_workspace.
  bool cut_through = false;

  bool operator==(const Request&) const = default;
};

nlohmann::json to_json(const Request& request);
// `where` prefixes field names in messages ("request.").
Result<Request> request_from_json(const nlohmann::json& j, std::string_view where = "");

// An operation id names a file: 1..128 of [A-Za-z0-9._-], not starting with '.'.
Status validate_operation_id(std::string_view id);

struct Progress {
  std::string stage;
  std::uint64_t bytes_done = 0;
  std::optional<std::uint64_t> bytes_total;
  double bytes_per_second = 0;
  bool operator==(const Progress&) const = default;
};

// One step of an operation ("plan", "checkpoint", "restore", ...).
struct StepTiming {
  std::string name;
  std::string started_at;  // RFC 3339
  std::int64_t duration_ms = -1;  // -1 while the step runs
  bool operator==(const StepTiming&) const = default;
};

// CRIU's statistics of one container's dump.
struct CriuStats {
  std::string container;
  std::uint64_t freezing_time_us = 0;
  std::uint64_t frozen_time_us = 0;
  std::uint64_t memdump_time_us = 0;
  std::uint64_t memwrite_time_us = 0;
  std::uint64_t pages_scanned = 0;
  std::uint64_t pages_written = 0;
  bool operator==(const CriuStats&) const = default;
};

// What a finished operation made, for the controller to copy into status.
struct Outcome {
  std::string workspace_id;
  std::string checkpoint_id;
  std::string primary;                  // the workspace's primary container
  std::vector<std::string> containers;  // dumped, restored or resumed, in plan order
  std::vector<std::string> images;      // images stored (checkpoint), loaded (restore) or collected (delete)
  std::uint64_t archive_bytes = 0;      // checkpoint, restore: bytes of the containers' archives; delete: removed
  std::vector<CriuStats> criu;
  std::int64_t duration_ms = 0;
  bool cut_through = false;             // restore: began before the checkpoint was sealed
  std::vector<std::string> warnings;    // what went wrong beside a success (delete: images not collected)
  // Where the time went, by step (freeze, dump, upload, download, restore,
  // settle: see StepClock); only the steps this operation went through.
  std::map<std::string, std::int64_t> step_durations_ms;
  bool operator==(const Outcome&) const = default;
};

// A failure, as the API reports it.
struct Failure {
  std::string code;  // to_string(ErrorCode)
  std::string message;
  bool operator==(const Failure&) const = default;
  static Failure from(const Error& error);
};

// What recovery did with an operation the agent was running when it died.
struct Recovery {
  // What was done, for the controller to act on; absent in records written
  // before actions were recorded.
  std::optional<migration::RecoveryAction> action;
  std::string outcome;  // the same, for people
  bool pending = false;  // still waiting for the controller's decision
  bool operator==(const Recovery&) const = default;
};

struct Operation {
  static constexpr int kVersion = 1;

  std::string id;
  Request request;
  State state = State::kPending;
  std::string created_at;
  std::string started_at;
  std::string finished_at;
  Progress progress;
  std::vector<StepTiming> steps;
  std::optional<Outcome> outcome;
  std::optional<Failure> failure;
  std::optional<Recovery> recovery;

  bool operator==(const Operation&) const = default;
};

nlohmann::json to_json(const Progress& v);
nlohmann::json to_json(const StepTiming& v);
nlohmann::json to_json(const CriuStats& v);
nlohmann::json to_json(const Outcome& v);
nlohmann::json to_json(const Operation& v);
Result<Outcome> outcome_from_json(const nlohmann::json& j, std::string_view where = "result.");
Result<Operation> operation_from_json(const nlohmann::json& j);

}  // namespace wscp::agent::operations
