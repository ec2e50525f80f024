#include "migration/workspace_lock.h"

#include "common/time_format.h"

namespace wscp::migration {
namespace {

using nlohmann::json;
constexpr int kRaceAttempts = 3;

std::string describe(const LockState& s, std::string_view workspace_id) {
  return "workspace " + std::string(workspace_id) + " is being migrated by node " + s.node + " (checkpoint " +
         s.checkpoint_id + ", since " + utc_rfc3339(s.since) + ", lock expires " + utc_rfc3339(s.expires) + ")";
}

}  // namespace

std::string lock_prefix(std::string_view workspace_id) {
  return "workspaces/" + std::string(workspace_id) + "/lock/";
}

WorkspaceLock::WorkspaceLock(DocumentStore& store, const store::Keyring& keys, std::string workspace_id)
    : store_(store),
      workspace_id_(workspace_id),
      log_(store, keys, lock_prefix(workspace_id), "workspace lock v1", "workspace " + workspace_id) {}

Result<LockState> WorkspaceLock::current() {
  auto latest = log_.latest();
  if (!latest) return latest.error();
  if (!latest->has_value()) return LockState{};
  const LogEntry& entry = **latest;
  LockState s;
  s.generation = entry.generation;
  const std::string what = "lock of workspace " + workspace_id_;
  try {
    s.held = entry.body.at("held").get<bool>();
    s.node = entry.body.at("node").get<std::string>();
    s.checkpoint_id = entry.body.at("checkpointId").get<std::string>();
    auto since = parse_utc_rfc3339(entry.body.at("since").get<std::string>());
    auto expires = parse_utc_rfc3339(entry.body.at("expires").get<std::string>());
    if (!since || !expires) return Error(ErrorCode::kIntegrity, what + ": times are malformed");
    s.since = *since;
    s.expires = *expires;
  } catch (const json::exception& e) {
    return Error(ErrorCode::kIntegrity, what + " is malformed: " + e.what());
  }
  return s;
}

Result<LockState> WorkspaceLock::write_next(const LockState& cur, const LockState& next) {
  json body{{"held", next.held},
            {"node", next.node},
            {"checkpointId", next.checkpoint_id},
            {"since", utc_rfc3339(next.since)},
            {"expires", utc_rfc3339(next.expires)}};
  auto written = log_.append(cur.generation, std::move(body));
  if (!written) return written.error();
  LockState result = next;
  result.generation = written->generation;
  return result;
}

Result<LockState> WorkspaceLock::acquire(const std::string& node, const std::string& checkpoint_id,
                                         std::chrono::seconds ttl) {
  for (int attempt = 0; attempt < kRaceAttempts; ++attempt) {
    auto cur = current();
    if (!cur) return cur.error();
    auto now = store_.now();
    if (!now) return now.error();
    const bool ours = cur->held && cur->node == node && cur->checkpoint_id == checkpoint_id;
    if (cur->held && !ours && *now < cur->expires) return Error(ErrorCode::kConflict, describe(*cur, workspace_id_));
    auto written = write_next(*cur, LockState{0, true, node, checkpoint_id, ours ? cur->since : *now, *now + ttl});
    if (written) return written;
    if (written.error().code() != ErrorCode::kConflict) return written.error();
    // Someone wrote the same generation first: look again.
  }
  auto cur = current();
  if (!cur) return cur.error();
  return Error(ErrorCode::kConflict, describe(*cur, workspace_id_));
}

Status WorkspaceLock::release(const std::string& node, const std::string& checkpoint_id) {
  for (int attempt = 0; attempt < kRaceAttempts; ++attempt) {
    auto cur = current();
    if (!cur) return cur.error();
    if (!cur->held || cur->node != node || cur->checkpoint_id != checkpoint_id) return Ok{};
    auto now = store_.now();
    if (!now) return now.error();
    auto written = write_next(*cur, LockState{0, false, node, checkpoint_id, *now, *now});
    if (written) return Ok{};
    if (written.error().code() != ErrorCode::kConflict) return written.error();
  }
  return Error(ErrorCode::kUnavailable, "lock of workspace " + workspace_id_ + " kept changing while being released: retry");
}

}  // namespace wscp::migration
