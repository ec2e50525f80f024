#include "migration/claim.h"

#include <array>

#include "common/time_format.h"
#include "store/layout.h"

namespace wscp::migration {
namespace {

using nlohmann::json;
constexpr int kRaceAttempts = 3;

constexpr std::array<std::pair<ClaimState, std::string_view>, 6> kStates{{
    {ClaimState::kNone, "none"},
    {ClaimState::kRestoring, "restoring"},
    {ClaimState::kRestored, "restored"},
    {ClaimState::kAbandoned, "abandoned"},
    {ClaimState::kResuming, "resuming"},
    {ClaimState::kResumed, "resumed"},
}};

std::string describe(const Claim& c) {
  std::string text = std::string(to_string(c.state));
  if (!c.node.empty()) text += " by node " + c.node;
  if (c.generation > 0) text += " at " + utc_rfc3339(c.at);
  return text;
}

}  // namespace

std::string_view to_string(ClaimState state) {
  for (const auto& [value, name] : kStates) {
    if (value == state) return name;
  }
  return "unknown";
}

Result<ClaimState> next_claim_state(const Claim& cur, ClaimStep step, const std::string& node, bool& unchanged) {
  unchanged = false;
  const bool mine = cur.node == node;
  const bool open = cur.state == ClaimState::kNone || cur.state == ClaimState::kAbandoned;
  auto same = [&](ClaimState s) -> Result<ClaimState> {
    unchanged = true;
    return s;
  };
  auto refuse = [&](std::string_view wanted) -> Result<ClaimState> {
    return Error(ErrorCode::kConflict, "the checkpoint is " + describe(cur) + ": node " + node + " cannot " +
                                           std::string(wanted));
  };
  switch (step) {
    case ClaimStep::kBeginRestore:
      if (open) return ClaimState::kRestoring;
      if (cur.state == ClaimState::kRestoring && mine) return same(cur.state);
      return refuse("restore it");
    case ClaimStep::kFinishRestore:
      if (cur.state == ClaimState::kRestoring && mine) return ClaimState::kRestored;
      if (cur.state == ClaimState::kRestored && mine) return same(cur.state);
      return refuse("finish a restore it does not hold");
    case ClaimStep::kAbandonRestore:
      if (cur.state == ClaimState::kRestoring && mine) return ClaimState::kAbandoned;
      if (cur.state == ClaimState::kAbandoned && mine) return same(cur.state);
      return refuse("abandon a restore it does not hold");
    case ClaimStep::kForceAbandon:
      if (cur.state == ClaimState::kRestoring) return ClaimState::kAbandoned;
      if (open) return same(cur.state);
      return refuse("abandon it");
    case ClaimStep::kBeginResume:
      if (open) return ClaimState::kResuming;
      if (cur.state == ClaimState::kResuming && mine) return same(cur.state);
      return refuse("resume it");
    case ClaimStep::kFinishResume:
      if (cur.state == ClaimState::kResuming && mine) return ClaimState::kResumed;
      if (cur.state == ClaimState::kResumed && mine) return same(cur.state);
      return refuse("finish a resume it does not hold");
  }
  return Error(ErrorCode::kInternal, "unknown claim step");
}

std::string claim_prefix(std::string_view workspace_id, std::string_view checkpoint_id) {
  return store::layout::checkpoint_prefix(workspace_id, checkpoint_id) + "claim/";
}

ClaimLog::ClaimLog(DocumentStore& store, const store::Keyring& keys, const std::string& workspace_id,
                   const std::string& checkpoint_id)
    : store_(store),
      checkpoint_id_(checkpoint_id),
      log_(store, keys, claim_prefix(workspace_id, checkpoint_id), "checkpoint claim v1",
           "checkpoint " + checkpoint_id + " of workspace " + workspace_id) {}

Result<Claim> ClaimLog::current() {
  auto latest = log_.latest();
  if (!latest) return latest.error();
  Claim c;
  if (!latest->has_value()) return c;
  const LogEntry& entry = **latest;
  c.generation = entry.generation;
  const std::string what = "claim of checkpoint " + checkpoint_id_;
  try {
    const std::string state = entry.body.at("state").get<std::string>();
    bool known = false;
    for (const auto& [value, name] : kStates) {
      if (name == state && value != ClaimState::kNone) {
        c.state = value;
        known = true;
      }
    }
    if (!known) return Error(ErrorCode::kIntegrity, what + ": unknown state '" + state + "'");
    c.node = entry.body.at("node").get<std::string>();
    c.reason = entry.body.at("reason").get<std::string>();
    auto at = parse_utc_rfc3339(entry.body.at("at").get<std::string>());
    if (!at || c.node.empty()) return Error(ErrorCode::kIntegrity, what + ": node or time missing");
    c.at = *at;
  } catch (const json::exception& e) {
    return Error(ErrorCode::kIntegrity, what + " is malformed: " + e.what());
  }
  return c;
}

Result<Claim> ClaimLog::take(ClaimStep step, const std::string& node, const std::string& reason) {
  for (int attempt = 0; attempt < kRaceAttempts; ++attempt) {
    auto cur = current();
    if (!cur) return cur.error();
    bool unchanged = false;
    auto next = next_claim_state(*cur, step, node, unchanged);
    if (!next) return next.error().wrap("checkpoint " + checkpoint_id_);
    if (unchanged) return *cur;
    auto now = store_.now();
    if (!now) return now.error();
    json body{{"state", to_string(*next)}, {"node", node}, {"reason", reason}, {"at", utc_rfc3339(*now)}};
    auto written = log_.append(cur->generation, std::move(body));
    if (written) return Claim{*next, node, reason, *now, written->generation};
    if (written.error().code() != ErrorCode::kConflict) return written.error();
    // Another node took a step first: decide again from what it wrote.
  }
  return Error(ErrorCode::kUnavailable, "claim of checkpoint " + checkpoint_id_ + " kept changing: retry");
}

}  // namespace wscp::migration
