#include "agent/operations/operation.h"

#include <algorithm>
#include <set>

namespace wscp::agent::operations {

using nlohmann::json;

namespace {

// Reads one JSON object strictly: each field's type is checked, unknown
// fields are refused, and every problem is named with its path.
class Reader {
 public:
  Reader(const json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j_.is_object()) problems_.push_back((where_.empty() ? std::string("the body") : strip(where_)) +
                                             " must be a JSON object, not " + j_.type_name());
  }

  std::string str(const char* key, bool required = false) {
    seen_.insert(key);
    const json* v = find(key);
    if (v == nullptr) {
      if (required) problems_.push_back(where_ + key + " is required");
      return {};
    }
    if (!v->is_string()) {
      problems_.push_back(where_ + key + " must be a string, not " + v->type_name());
      return {};
    }
    return v->get<std::string>();
  }
  bool boolean(const char* key) {
    seen_.insert(key);
    const json* v = find(key);
    if (v == nullptr) return false;
    if (!v->is_boolean()) {
      problems_.push_back(where_ + key + " must be true or false, not " + v->type_name());
      return false;
    }
    return v->get<bool>();
  }
  std::uint64_t u64(const char* key) {
    seen_.insert(key);
    const json* v = find(key);
    if (v == nullptr) return 0;
    if (!v->is_number_unsigned()) {
      problems_.push_back(where_ + key + " must be a non-negative integer");
      return 0;
    }
    return v->get<std::uint64_t>();
  }
  std::optional<std::uint64_t> opt_u64(const char* key) {
    if (find(key) == nullptr || find(key)->is_null()) {
      seen_.insert(key);
      return std::nullopt;
    }
    return u64(key);
  }
  std::int64_t i64(const char* key) {
    seen_.insert(key);
    const json* v = find(key);
    if (v == nullptr) return 0;
    if (!v->is_number_integer()) {
      problems_.push_back(where_ + key + " must be an integer");
      return 0;
    }
    return v->get<std::int64_t>();
  }
  double number(const char* key) {
    seen_.insert(key);
    const json* v = find(key);
    if (v == nullptr) return 0;
    if (!v->is_number()) {
      problems_.push_back(where_ + key + " must be a number");
      return 0;
    }
    return v->get<double>();
  }
  std::vector<std::string> strings(const char* key) {
    seen_.insert(key);
    std::vector<std::string> out;
    const json* v = find(key);
    if (v == nullptr) return out;
    if (!v->is_array()) {
      problems_.push_back(where_ + key + " must be an array of strings");
      return out;
    }
    for (const auto& e : *v) {
      if (!e.is_string()) {
        problems_.push_back(where_ + key + " must be an array of strings");
        return {};
      }
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  // A nested value (object or array) or nullptr.
  const json* sub(const char* key) {
    seen_.insert(key);
    const json* v = find(key);
    return (v == nullptr || v->is_null()) ? nullptr : v;
  }
  void problem(std::string text) { problems_.push_back(std::move(text)); }
  void merge(const Error& e) { problems_.push_back(e.message()); }
  const std::string& where() const { return where_; }

  // Fields this version does not know are not refused (see outcome_from_json).
  void ignore_unknown_fields() { ignore_unknown_ = true; }

  Status finish() {
    if (j_.is_object() && !ignore_unknown_) {
      for (const auto& [key, value] : j_.items()) {
        if (!seen_.contains(key)) problems_.push_back(where_ + key + " is not a known field");
      }
    }
    if (problems_.empty()) return Ok{};
    std::string message;
    for (const auto& p : problems_) {
      if (!message.empty()) message += "; ";
      message += p;
    }
    return Error(ErrorCode::kInvalidArgument, message);
  }

 private:
  static std::string strip(const std::string& where) {
    return where.empty() || where.back() != '.' ? where : where.substr(0, where.size() - 1);
  }
  const json* find(const char* key) const {
    if (!j_.is_object()) return nullptr;
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }

  const json& j_;
  std::string where_;
  std::set<std::string> seen_;
  bool ignore_unknown_ = false;
  std::vector<std::string> problems_;
};

template <typename E>
struct Names {
  E value;
  std::string_view name;
};

constexpr Names<Kind> kKinds[] = {
    {Kind::kCheckpoint, "checkpoint"}, {Kind::kRestore, "restore"}, {Kind::kRelease, "release"}, {Kind::kResume, "resume"},
    {Kind::kDelete, "delete"}};
constexpr Names<State> kStates[] = {{State::kPending, "pending"},
                                    {State::kRunning, "running"},
                                    {State::kSucceeded, "succeeded"},
                                    {State::kFailed, "failed"},
                                    {State::kCancelled, "cancelled"}};

bool name_ok(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
}

}  // namespace

std::string_view to_string(Kind kind) {
  for (const auto& k : kKinds)
    if (k.value == kind) return k.name;
  return "unknown";
}
std::string_view to_string(State state) {
  for (const auto& s : kStates)
    if (s.value == state) return s.name;
  return "unknown";
}
Result<Kind> parse_kind(std::string_view text) {
  for (const auto& k : kKinds)
    if (k.name == text) return k.value;
  return Error(ErrorCode::kInvalidArgument,
               "kind \"" + std::string(text) + "\" is not one of checkpoint, restore, release, resume, delete");
}
Result<State> parse_state(std::string_view text) {
  for (const auto& s : kStates)
    if (s.name == text) return s.value;
  return Error(ErrorCode::kInvalidArgument,
               "state \"" + std::string(text) + "\" is not one of pending, running, succeeded, failed, cancelled");
}
bool finished(State state) { return state == State::kSucceeded || state == State::kFailed || state == State::kCancelled; }

Status validate_operation_id(std::string_view id) {
  const bool ok = !id.empty() && id.size() <= 128 && id.front() != '.' &&
                  std::all_of(id.begin(), id.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                           c == '_' || c == '.';
                  });
  if (ok) return Ok{};
  return Error(ErrorCode::kInvalidArgument, "operation id \"" + std::string(id.substr(0, 140)) +
                                                "\" must be 1 to 128 of A-Z a-z 0-9 . _ - and not start with '.'");
}

json to_json(const Request& r) {
  json j{{"kind", to_string(r.kind)}};
  if (!r.workspace.empty()) j["workspace"] = r.workspace;
  if (!r.project.empty()) j["project"] = r.project;
  if (!r.checkpoint_id.empty()) j["checkpointId"] = r.checkpoint_id;
  if (!r.store.empty()) j["store"] = r.store;
  if (r.tcp_established) j["tcpEstablished"] = true;
  if (r.file_locks) j["fileLocks"] = true;
  if (r.cut_through) j["cutThrough"] = true;
  return j;
}

Result<Request> request_from_json(const json& j, std::string_view where) {
  Reader in(j, std::string(where));
  Request r;
  const std::string kind = in.str("kind", true);
  if (!kind.empty()) {
    auto k = parse_kind(kind);
    if (k) r.kind = *k;
    else in.problem(std::string(where) + k.error().message());
  }
  r.workspace = in.str("workspace");
  r.project = in.str("project");
  r.checkpoint_id = in.str("checkpointId", true);
  r.store = in.str("store");
  r.tcp_established = in.boolean("tcpEstablished");
  r.file_locks = in.boolean("fileLocks");
  r.cut_through = in.boolean("cutThrough");
  const std::string w(where);
  if (r.cut_through && r.kind != Kind::kRestore) in.problem(w + "cutThrough is only for a restore");
  if (r.kind == Kind::kCheckpoint) {
    if (r.workspace.empty() == r.project.empty())
      in.problem(w + "a checkpoint names exactly one of workspace (container or workspace id) or project");
  } else {
    if (r.workspace.empty()) in.problem(w + "workspace (the workspace id) is required for " + kind);
    if (!r.project.empty()) in.problem(w + "project is only for a checkpoint; " + kind + " names the workspace id");
  }
  for (auto [key, value] : {std::pair<const char*, const std::string*>{"workspace", &r.workspace},
                            {"project", &r.project},
                            {"checkpointId", &r.checkpoint_id},
                            {"store", &r.store}}) {
    if (!value->empty() && !name_ok(*value))
      in.problem(w + key + " \"" + value->substr(0, 80) + "\" must be 1 to 253 of A-Z a-z 0-9 . _ -");
  }
  if (auto s = in.finish(); !s) return s.error();
  return r;
}

Failure Failure::from(const Error& error) { return {std::string(wscp::to_string(error.code())), error.message()}; }

json to_json(const Progress& v) {
  json j{{"stage", v.stage}, {"bytes", v.bytes_done}, {"bytesPerSecond", v.bytes_per_second}};
  if (v.bytes_total) j["totalBytes"] = *v.bytes_total;
  return j;
}
json to_json(const StepTiming& v) {
  return {{"name", v.name}, {"startedAt", v.started_at}, {"durationMs", v.duration_ms}};
}
json to_json(const CriuStats& v) {
  return {{"container", v.container},         {"freezingTimeUs", v.freezing_time_us},
          {"frozenTimeUs", v.frozen_time_us}, {"memdumpTimeUs", v.memdump_time_us},
          {"memwriteTimeUs", v.memwrite_time_us}, {"pagesScanned", v.pages_scanned},
          {"pagesWritten", v.pages_written}};
}
json to_json(const Outcome& v) {
  json criu = json::array();
  for (const auto& c : v.criu) criu.push_back(to_json(c));
  json j{{"workspaceId", v.workspace_id}, {"checkpointId", v.checkpoint_id}, {"primary", v.primary},
         {"containers", v.containers},    {"images", v.images},               {"archiveBytes", v.archive_bytes},
         {"criu", criu},                  {"durationMs", v.duration_ms},      {"cutThrough", v.cut_through}};
  if (!v.warnings.empty()) j["warnings"] = v.warnings;
  if (!v.step_durations_ms.empty()) j["stepDurationsMs"] = v.step_durations_ms;
  return j;
}
json to_json(const Operation& v) {
  json steps = json::array();
  for (const auto& s : v.steps) steps.push_back(to_json(s));
  json j{{"version", Operation::kVersion},
         {"id", v.id},
         {"request", to_json(v.request)},
         {"state", to_string(v.state)},
         {"createdAt", v.created_at},
         {"progress", to_json(v.progress)},
         {"steps", steps}};
  if (!v.started_at.empty()) j["startedAt"] = v.started_at;
  if (!v.finished_at.empty()) j["finishedAt"] = v.finished_at;
  if (v.outcome) j["result"] = to_json(*v.outcome);
  if (v.failure) j["error"] = json{{"code", v.failure->code}, {"message", v.failure->message}};
  if (v.recovery) {
    json& r = j["recovery"] = json{{"outcome", v.recovery->outcome}, {"pending", v.recovery->pending}};
    if (v.recovery->action) r["action"] = migration::to_string(*v.recovery->action);
  }
  return j;
}

Result<Outcome> outcome_from_json(const json& j, std::string_view where) {
  Reader in(j, std::string(where));
  Outcome o;
  o.workspace_id = in.str("workspaceId");
  o.checkpoint_id = in.str("checkpointId");
  o.primary = in.str("primary");
  o.containers = in.strings("containers");
  o.images = in.strings("images");
  o.archive_bytes = in.u64("archiveBytes");
  o.duration_ms = in.i64("durationMs");
  o.cut_through = in.boolean("cutThrough");
  o.warnings = in.strings("warnings");
  // A result is read by controllers (and agents, from their records) of
  // other versions: what a newer one adds is ignored, not refused.
  in.ignore_unknown_fields();
  if (const json* criu = in.sub("criu")) {
    if (!criu->is_array()) in.problem(std::string(where) + "criu must be an array");
    else
      for (const auto& c : *criu) {
        Reader cr(c, std::string(where) + "criu[].");
        CriuStats s;
        s.container = cr.str("container");
        s.freezing_time_us = cr.u64("freezingTimeUs");
        s.frozen_time_us = cr.u64("frozenTimeUs");
        s.memdump_time_us = cr.u64("memdumpTimeUs");
        s.memwrite_time_us = cr.u64("memwriteTimeUs");
        s.pages_scanned = cr.u64("pagesScanned");
        s.pages_written = cr.u64("pagesWritten");
        if (auto st = cr.finish(); !st) in.merge(st.error());
        o.criu.push_back(s);
      }
  }
  // Figures for people and metrics: an entry this version cannot use is
  // left out, never a reason to refuse the whole result.
  if (const json* steps = in.sub("stepDurationsMs"); steps && steps->is_object())
    for (const auto& [name, ms] : steps->items())
      if (ms.is_number_integer() && ms.get<std::int64_t>() >= 0 && !name.empty() && name.size() <= 32 &&
          o.step_durations_ms.size() < 16)
        o.step_durations_ms[name] = ms.get<std::int64_t>();
  if (auto s = in.finish(); !s) return s.error();
  return o;
}

Result<Operation> operation_from_json(const json& j) {
  Reader in(j, "");
  Operation op;
  if (j.is_object() && j.contains("version") && j["version"] != Operation::kVersion)
    return Error(ErrorCode::kInvalidArgument, "operation record version " + j["version"].dump() +
                                                  " is not the version this agent reads (" +
                                                  std::to_string(Operation::kVersion) + ")");
  in.i64("version");
  op.id = in.str("id", true);
  if (!op.id.empty())
    if (auto s = validate_operation_id(op.id); !s) in.merge(s.error());
  if (const json* r = in.sub("request")) {
    auto req = request_from_json(*r, "request.");
    if (req) op.request = *req;
    else in.merge(req.error());
  } else {
    in.problem("request is required");
  }
  if (auto st = parse_state(in.str("state", true)); st) op.state = *st;
  else in.merge(st.error());
  op.created_at = in.str("createdAt");
  op.started_at = in.str("startedAt");
  op.finished_at = in.str("finishedAt");
  if (const json* p = in.sub("progress")) {
    Reader pr(*p, "progress.");
    op.progress.stage = pr.str("stage");
    op.progress.bytes_done = pr.u64("bytes");
    op.progress.bytes_total = pr.opt_u64("totalBytes");
    op.progress.bytes_per_second = pr.number("bytesPerSecond");
    if (auto s = pr.finish(); !s) in.merge(s.error());
  }
  if (const json* steps = in.sub("steps")) {
    if (!steps->is_array()) in.problem("steps must be an array");
    else
      for (const auto& s : *steps) {
        Reader sr(s, "steps[].");
        StepTiming t;
        t.name = sr.str("name", true);
        t.started_at = sr.str("startedAt");
        t.duration_ms = sr.i64("durationMs");
        if (auto st = sr.finish(); !st) in.merge(st.error());
        op.steps.push_back(t);
      }
  }
  if (const json* r = in.sub("result")) {
    auto o = outcome_from_json(*r);
    if (o) op.outcome = *o;
    else in.merge(o.error());
  }
  if (const json* e = in.sub("error")) {
    Reader er(*e, "error.");
    Failure f{er.str("code", true), er.str("message", true)};
    if (auto s = er.finish(); !s) in.merge(s.error());
    op.failure = f;
  }
  if (const json* r = in.sub("recovery")) {
    Reader rr(*r, "recovery.");
    Recovery rec;
    // An action a newer agent wrote reads as unknown (nullopt): the record
    // must still load after a rollback, and its outcome still says it.
    if (const std::string action = rr.str("action"); !action.empty())
      rec.action = migration::recovery_action_from_string(action);
    rec.outcome = rr.str("outcome");
    rec.pending = rr.boolean("pending");
    if (auto s = rr.finish(); !s) in.merge(s.error());
    op.recovery = rec;
  }
  if (auto s = in.finish(); !s) return s.error();
  return op;
}

}  // namespace wscp::agent::operations
