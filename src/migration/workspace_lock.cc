#include "migration/workspace_lock.h"

#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/time_format.h"
#include "migration/signed_document.h"

namespace wscp::migration {
namespace {

using nlohmann::json;
constexpr std::string_view kKind = "workspace lock v1";
constexpr int kRaceAttempts = 3;
constexpr std::size_t kGenerationDigits = 12;

std::string generation_key(std::string_view workspace_id, std::uint64_t generation) {
  char digits[kGenerationDigits + 1];
  std::snprintf(digits, sizeof digits, "%012llu", static_cast<unsigned long long>(generation));
  return lock_prefix(workspace_id) + digits + ".json";
}

std::optional<std::uint64_t> generation_of(std::string_view key, std::string_view prefix) {
  if (!key.starts_with(prefix) || !key.ends_with(".json")) return std::nullopt;
  std::string_view digits = key.substr(prefix.size(), key.size() - prefix.size() - 5);
  if (digits.size() != kGenerationDigits) return std::nullopt;
  std::uint64_t g = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), g);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return g;
}

std::string describe(const LockState& s, std::string_view workspace_id) {
  return "workspace " + std::string(workspace_id) + " is being migrated by node " + s.node + " (checkpoint " +
         s.checkpoint_id + ", since " + utc_rfc3339(s.since) + ", lock expires " + utc_rfc3339(s.expires) + ")";
}

}  // namespace

std::string lock_prefix(std::string_view workspace_id) {
  return "workspaces/" + std::string(workspace_id) + "/lock/";
}

Result<LockState> WorkspaceLock::current() {
  const std::string prefix = lock_prefix(workspace_id_);
  auto keys = store_.list(prefix);
  if (!keys) return keys.error();
  std::optional<std::uint64_t> latest;
  for (const auto& k : *keys) {
    auto g = generation_of(k, prefix);
    if (g && (!latest || *g > *latest)) latest = g;
  }
  if (!latest) return LockState{};
  const std::string key = generation_key(workspace_id_, *latest);
  auto text = store_.read(key);
  if (!text) return text.error();
  if (!text->has_value()) return Error(ErrorCode::kUnavailable, "lock " + key + " vanished while being read: retry");
  const std::string what = "lock of workspace " + workspace_id_;
  auto doc = open_document(**text, kKind, key_, what);
  if (!doc) return doc.error();
  LockState s;
  s.generation = *latest;
  try {
    if (doc->at("generation").get<std::uint64_t>() != *latest) {
      return Error(ErrorCode::kIntegrity, what + ": generation does not match its key; refusing it");
    }
    if (doc->at("workspaceId").get<std::string>() != workspace_id_) {
      return Error(ErrorCode::kIntegrity, what + " was copied from another workspace; refusing it");
    }
    s.held = doc->at("held").get<bool>();
    s.node = doc->at("node").get<std::string>();
    s.checkpoint_id = doc->at("checkpointId").get<std::string>();
    auto since = parse_utc_rfc3339(doc->at("since").get<std::string>());
    auto expires = parse_utc_rfc3339(doc->at("expires").get<std::string>());
    if (!since || !expires) return Error(ErrorCode::kIntegrity, what + ": times are malformed");
    s.since = *since;
    s.expires = *expires;
  } catch (const json::exception& e) {
    return Error(ErrorCode::kIntegrity, what + " is malformed: " + e.what());
  }
  return s;
}

Result<LockState> WorkspaceLock::write_next(const LockState& cur, LockState next) {
  next.generation = cur.generation + 1;
  json doc{{"generation", next.generation},
           {"workspaceId", workspace_id_},
           {"held", next.held},
           {"node", next.node},
           {"checkpointId", next.checkpoint_id},
           {"since", utc_rfc3339(next.since)},
           {"expires", utc_rfc3339(next.expires)}};
  Status st = store_.create_exclusive(generation_key(workspace_id_, next.generation), sign_document(doc, kKind, key_));
  if (!st) return st.error();
  // Older generations are history; keep one for people reading the store.
  if (cur.generation > 0) (void)store_.remove(generation_key(workspace_id_, cur.generation - 1));
  return next;
}

Result<LockState> WorkspaceLock::acquire(const std::string& node, const std::string& checkpoint_id,
                                         std::chrono::seconds ttl) {
  for (int attempt = 0; attempt < kRaceAttempts; ++attempt) {
    auto cur = current();
    if (!cur) return cur.error();
    auto now = store_.now();
    if (!now) return now.error();
    const bool ours = cur->node == node && cur->checkpoint_id == checkpoint_id;
    if (cur->held && !ours && *now < cur->expires) return Error(ErrorCode::kConflict, describe(*cur, workspace_id_));
    LockState next{0, true, node, checkpoint_id, ours && cur->held ? cur->since : *now, *now + ttl};
    auto written = write_next(*cur, next);
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
