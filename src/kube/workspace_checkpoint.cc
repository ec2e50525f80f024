#include "kube/workspace_checkpoint.h"

#include <array>
#include <cstdio>
#include <ctime>
#include <limits>
#include <utility>

#include "kube/json_type_name.h"

namespace wscp::kube {

using nlohmann::json;

// ---- enums ----

namespace {

template <typename E, std::size_t N>
Result<E> parse_enum(std::string_view text, const std::array<std::pair<E, std::string_view>, N>& names,
                     std::string_view what) {
  std::string allowed;
  for (const auto& [value, name] : names) {
    if (name == text) return value;
    allowed += (allowed.empty() ? "" : ", ") + std::string(name);
  }
  return Error(ErrorCode::kInvalidArgument,
               std::string(what) + " '" + std::string(text) + "' is not one of " + allowed);
}

template <typename E, std::size_t N>
std::string_view enum_name(E v, const std::array<std::pair<E, std::string_view>, N>& names) {
  for (const auto& [value, name] : names) {
    if (value == v) return name;
  }
  return "?";
}

constexpr std::array<std::pair<CheckpointReason, std::string_view>, 5> kReasons{{
    {CheckpointReason::kManual, "Manual"},
    {CheckpointReason::kSpotInterruption, "SpotInterruption"},
    {CheckpointReason::kRebalance, "Rebalance"},
    {CheckpointReason::kMaintenance, "Maintenance"},
    {CheckpointReason::kDrain, "Drain"},
}};
constexpr std::array<std::pair<CheckpointPhase, std::string_view>, 6> kPhases{{
    {CheckpointPhase::kPending, "Pending"},
    {CheckpointPhase::kCheckpointing, "Checkpointing"},
    {CheckpointPhase::kCheckpointed, "Checkpointed"},
    {CheckpointPhase::kRestoring, "Restoring"},
    {CheckpointPhase::kRestored, "Restored"},
    {CheckpointPhase::kFailed, "Failed"},
}};
constexpr std::array<std::pair<ConditionStatus, std::string_view>, 3> kConditionStatuses{{
    {ConditionStatus::kTrue, "True"},
    {ConditionStatus::kFalse, "False"},
    {ConditionStatus::kUnknown, "Unknown"},
}};
constexpr std::array<std::pair<CompressionAlgorithm, std::string_view>, 2> kAlgorithms{{
    {CompressionAlgorithm::kZstd, "zstd"},
    {CompressionAlgorithm::kNone, "none"},
}};
constexpr std::array<std::pair<CheckpointStep, std::string_view>, 8> kSteps{{
    {CheckpointStep::kPlan, "Plan"},
    {CheckpointStep::kPreflight, "Preflight"},
    {CheckpointStep::kCheckpoint, "Checkpoint"},
    {CheckpointStep::kShipImage, "ShipImage"},
    {CheckpointStep::kRestore, "Restore"},
    {CheckpointStep::kRelease, "Release"},
    {CheckpointStep::kResume, "Resume"},
    {CheckpointStep::kDeleteArchive, "DeleteArchive"},
}};
constexpr std::array<std::pair<MigrationDecision, std::string_view>, 2> kDecisions{{
    {MigrationDecision::kRestore, "Restore"},
    {MigrationDecision::kResume, "Resume"},
}};

}  // namespace

std::string_view to_string(CheckpointReason v) { return enum_name(v, kReasons); }
std::string_view to_string(CheckpointPhase v) { return enum_name(v, kPhases); }
std::string_view to_string(ConditionStatus v) { return enum_name(v, kConditionStatuses); }
std::string_view to_string(CompressionAlgorithm v) { return enum_name(v, kAlgorithms); }
std::string_view to_string(CheckpointStep v) { return enum_name(v, kSteps); }
std::string_view to_string(MigrationDecision v) { return enum_name(v, kDecisions); }
Result<CheckpointReason> parse_checkpoint_reason(std::string_view t) { return parse_enum(t, kReasons, "reason"); }
Result<CheckpointPhase> parse_checkpoint_phase(std::string_view t) { return parse_enum(t, kPhases, "phase"); }
Result<ConditionStatus> parse_condition_status(std::string_view t) {
  return parse_enum(t, kConditionStatuses, "condition status");
}
Result<CompressionAlgorithm> parse_compression_algorithm(std::string_view t) {
  return parse_enum(t, kAlgorithms, "compression algorithm");
}
Result<CheckpointStep> parse_checkpoint_step(std::string_view t) { return parse_enum(t, kSteps, "step"); }
Result<MigrationDecision> parse_migration_decision(std::string_view t) {
  return parse_enum(t, kDecisions, "decision");
}

bool is_final(CheckpointPhase phase, bool has_destination) {
  switch (phase) {
    case CheckpointPhase::kRestored:
    case CheckpointPhase::kFailed:
      return true;
    case CheckpointPhase::kCheckpointed:
      return !has_destination;
    default:
      return false;
  }
}

// ---- RFC 3339 ----

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

Result<Time> parse_rfc3339(std::string_view s) {
  auto bad = [&] {
    return Error(ErrorCode::kInvalidArgument,
                 "'" + std::string(s) + "' is not an RFC 3339 time (e.g. 2026-11-23T11:45:00Z or 2026-11-23T12:45:00.5+01:00)");
  };
  int year, month, day, hour, minute, second;
  if (s.size() < 20 || !digits(s, 0, 4, year) || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' ||
      !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, hour) || s[13] != ':' ||
      !digits(s, 14, 2, minute) || s[16] != ':' || !digits(s, 17, 2, second)) {
    return bad();
  }
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return bad();
  std::size_t pos = 19;
  std::int64_t nanos = 0;
  if (s[pos] == '.') {
    ++pos;
    std::size_t first = pos;
    std::int64_t scale = 100'000'000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      nanos += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == first) return bad();
  }
  int offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(s, pos + 4, 2, om) ||
        oh > 23 || om > 59) {
      return bad();
    }
    offset_minutes = (s[pos] == '-' ? -1 : 1) * (oh * 60 + om);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t t = timegm(&tm);
  if (tm.tm_mday != day || tm.tm_mon != month - 1) return bad();  // e.g. February 30th
  return std::chrono::system_clock::from_time_t(t) - std::chrono::minutes(offset_minutes) +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(nanos));
}

std::string format_rfc3339(Time t) {
  auto secs = std::chrono::floor<std::chrono::seconds>(t);
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(t - secs).count();
  std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[48];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (nanos > 0) {
    char frac[24];
    std::snprintf(frac, sizeof frac, ".%09lld", static_cast<long long>(nanos));
    std::string f(frac);
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

// ---- field readers ----

namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool alnum(char c) { return lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool is_dns_label(std::string_view s) {
  if (s.empty() || !lower_alnum(s.front()) || !lower_alnum(s.back())) return false;
  for (char c : s) {
    if (!lower_alnum(c) && c != '-') return false;
  }
  return true;
}

// DNS labels joined by '.'.
bool is_dns_subdomain(std::string_view s) {
  if (s.empty()) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = s.find('.', start);
    if (!is_dns_label(s.substr(start, dot == std::string_view::npos ? dot : dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// [A-Za-z0-9][A-Za-z0-9_.-]*
bool is_plain_name(std::string_view s) {
  if (s.empty() || !alnum(s.front())) return false;
  for (char c : s) {
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]: a label value or the name part of a key.
bool is_qualified_name_part(std::string_view s) {
  if (s.empty() || !alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s) {
    if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

bool is_label_value(std::string_view s) { return s.empty() || is_qualified_name_part(s); }

// An optional DNS-subdomain prefix and '/', then a name of at most 63 characters.
bool is_label_key(std::string_view s) {
  if (s.size() > 253) return false;
  auto slash = s.find('/');
  std::string_view name = s;
  if (slash != std::string_view::npos) {
    if (!is_dns_subdomain(s.substr(0, slash))) return false;
    name = s.substr(slash + 1);
  }
  return name.size() <= 63 && is_qualified_name_part(name);
}

bool is_condition_type(std::string_view s) {
  auto slash = s.find('/');
  std::string_view name = s;
  if (slash != std::string_view::npos) {
    if (!is_dns_subdomain(s.substr(0, slash))) return false;
    name = s.substr(slash + 1);
  }
  return is_qualified_name_part(name);
}

// [A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?
bool is_condition_reason(std::string_view s) {
  if (s.empty() || !(alnum(s.front()) && !(s.front() >= '0' && s.front() <= '9'))) return false;
  if (!alnum(s.back()) && s.back() != '_') return false;
  for (char c : s) {
    if (!alnum(c) && c != '_' && c != ',' && c != ':') return false;
  }
  return true;
}

bool is_container_id(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!lower_hex(c)) return false;
  }
  return true;
}

bool is_address(std::string_view s) {
  for (char c : s) {
    if (!lower_hex(c) && !(c >= 'A' && c <= 'F') && c != '.' && c != ':') return false;
  }
  return true;
}

bool is_sha256_digest(std::string_view s) {
  if (s.size() != 71 || s.substr(0, 7) != "sha256:") return false;
  for (char c : s.substr(7)) {
    if (!lower_hex(c)) return false;
  }
  return true;
}

bool any_text(std::string_view) { return true; }

// What a string field must look like: lengths, and a check with its description.
struct StringRule {
  std::size_t min_length;
  std::size_t max_length;
  bool (*valid)(std::string_view);
  const char* what;
};

constexpr StringRule kNodeName{1, 253, is_dns_subdomain,
                               "a node name (a DNS subdomain: lower-case letters, digits, '-' and '.')"};
constexpr StringRule kObjectName{1, 253, is_dns_subdomain,
                                 "an object name (a DNS subdomain: lower-case letters, digits, '-' and '.')"};
constexpr StringRule kPlainName{1, 128, is_plain_name,
                                "a name of letters, digits, '_', '.' and '-' starting with a letter or digit"};
constexpr StringRule kStoreName{1, 63, is_dns_label,
                                "a store name (a DNS label: lower-case letters, digits and '-')"};
constexpr StringRule kLabelValue{0, 63, is_label_value,
                                 "a label value (letters, digits, '-', '_', '.', starting and ending with a letter "
                                 "or digit)"};
constexpr StringRule kConditionType{1, 316, is_condition_type,
                                    "a condition type (CamelCase, optionally prefixed with a DNS subdomain and '/')"};
constexpr StringRule kConditionReason{1, 1024, is_condition_reason,
                                      "a CamelCase reason (a letter, then letters, digits, '_', ',' or ':')"};
constexpr StringRule kConditionMessage{0, 32768, any_text, "text"};
constexpr StringRule kStatusMessage{0, 4096, any_text, "text"};
constexpr StringRule kContainerId{64, 64, is_container_id, "a container id (64 lower-case hex digits)"};
constexpr StringRule kAddress{2, 45, is_address, "an IP address"};
constexpr StringRule kDigest{71, 71, is_sha256_digest, "a digest of the form sha256:<64 lower-case hex digits>"};

std::string type_name(const json& j) { return std::string(kube::json_type_name(j)); }

// Reads the fields of one JSON object, keeping the first error (with the
// field's path) so that a whole object can be read before checking.
class Fields {
 public:
  Fields(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j.is_object()) fail(path_, "must be an object, not " + type_name(j));
  }

  bool ok() const { return !error_; }
  const Error& error() const { return *error_; }
  const std::string& path() const { return path_; }
  std::string at(std::string_view key) const { return path_ + "." + std::string(key); }

  void fail(const std::string& where, const std::string& why) {
    if (!error_) error_ = Error(ErrorCode::kInvalidArgument, where + ": " + why);
  }
  void fail(const Error& e) {
    if (!error_) error_ = e;
  }

  // The value at key, or nullptr when absent (null counts as absent).
  const json* find(std::string_view key, bool required = false) {
    if (!ok()) return nullptr;
    auto it = j_.find(std::string(key));
    if (it == j_.end() || it->is_null()) {
      if (required) fail(at(key), "is required");
      return nullptr;
    }
    return &*it;
  }

  std::optional<std::string> string(std::string_view key, const StringRule& rule, bool required = false) {
    const json* v = find(key, required);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) {
      fail(at(key), "must be a string, not " + type_name(*v));
      return std::nullopt;
    }
    std::string s = v->get<std::string>();
    if (!check(at(key), s, rule)) return std::nullopt;
    return s;
  }

  bool check(const std::string& where, const std::string& s, const StringRule& rule) {
    if (s.size() < rule.min_length || s.size() > rule.max_length) {
      fail(where, "'" + shorten(s) + "' has " + std::to_string(s.size()) + " characters; " +
                      (rule.min_length == rule.max_length
                           ? "it must have " + std::to_string(rule.min_length)
                           : "it must have " + std::to_string(rule.min_length) + " to " +
                                 std::to_string(rule.max_length)));
      return false;
    }
    if (!rule.valid(s)) {
      fail(where, "'" + shorten(s) + "' is not " + rule.what);
      return false;
    }
    return true;
  }

  std::optional<bool> boolean(std::string_view key, bool required = false) {
    const json* v = find(key, required);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) {
      fail(at(key), "must be true or false, not " + type_name(*v));
      return std::nullopt;
    }
    return v->get<bool>();
  }

  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max,
                                      bool required = false) {
    const json* v = find(key, required);
    if (v == nullptr) return std::nullopt;
    if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
      fail(at(key), std::to_string(v->get<std::uint64_t>()) + " is more than the maximum " + std::to_string(max));
      return std::nullopt;
    }
    if (!v->is_number_integer()) {
      fail(at(key), "must be an integer, not " + type_name(*v));
      return std::nullopt;
    }
    std::int64_t n = v->get<std::int64_t>();
    if (n < min) {
      fail(at(key), std::to_string(n) + " is less than the minimum " + std::to_string(min));
      return std::nullopt;
    }
    if (n > max) {
      fail(at(key), std::to_string(n) + " is more than the maximum " + std::to_string(max));
      return std::nullopt;
    }
    return n;
  }

  std::int64_t counter(std::string_view key) {  // a non-negative int64; absent reads as 0
    return integer(key, 0, std::numeric_limits<std::int64_t>::max()).value_or(0);
  }

  std::optional<Time> time(std::string_view key, bool required = false) {
    const json* v = find(key, required);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) {
      fail(at(key), "must be an RFC 3339 time string, not " + type_name(*v));
      return std::nullopt;
    }
    auto t = parse_rfc3339(v->get<std::string>());
    if (!t) {
      fail(at(key), t.error().message());
      return std::nullopt;
    }
    return *t;
  }

  template <typename E>
  std::optional<E> enumeration(std::string_view key, Result<E> (*parse)(std::string_view), bool required = false) {
    const json* v = find(key, required);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) {
      fail(at(key), "must be a string, not " + type_name(*v));
      return std::nullopt;
    }
    auto e = parse(v->get<std::string>());
    if (!e) {
      fail(at(key), e.error().message());
      return std::nullopt;
    }
    return *e;
  }

  // A nested object read by T::from_json(j, path).
  template <typename T>
  std::optional<T> object(std::string_view key, bool required = false) {
    const json* v = find(key, required);
    if (v == nullptr) return std::nullopt;
    auto r = T::from_json(*v, at(key));
    if (!r) {
      fail(r.error());
      return std::nullopt;
    }
    return std::move(*r);
  }

  // A list of T read by T::from_json(item, path[i]), unique by key(item).
  template <typename T, typename Key>
  std::vector<T> list(std::string_view key, std::size_t max_items, Key key_of, std::string_view key_name) {
    std::vector<T> out;
    const json* v = find(key);
    if (v == nullptr) return out;
    if (!v->is_array()) {
      fail(at(key), "must be a list, not " + type_name(*v));
      return out;
    }
    if (v->size() > max_items) {
      fail(at(key), "has " + std::to_string(v->size()) + " items; at most " + std::to_string(max_items) +
                        " are allowed");
      return out;
    }
    for (std::size_t i = 0; i < v->size(); ++i) {
      std::string where = at(key) + "[" + std::to_string(i) + "]";
      auto r = T::from_json((*v)[i], where);
      if (!r) {
        fail(r.error());
        return out;
      }
      for (const auto& seen : out) {
        if (key_of(seen) == key_of(*r)) {
          fail(where, "a second entry with " + std::string(key_name) + " " + std::string(key_of(*r)) +
                          "; there is at most one per " + std::string(key_name));
          return out;
        }
      }
      out.push_back(std::move(*r));
    }
    return out;
  }

 private:
  static std::string shorten(const std::string& s) { return s.size() <= 80 ? s : s.substr(0, 77) + "..."; }

  const json& j_;
  std::string path_;
  std::optional<Error> error_;
};

void put(json& j, const char* key, const std::optional<std::string>& v) {
  if (v) j[key] = *v;
}
void put_time(json& j, const char* key, const std::optional<Time>& v) {
  if (v) j[key] = format_rfc3339(*v);
}
template <typename T>
void put_int(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
void put_true(json& j, const char* key, bool v) {
  if (v) j[key] = true;
}
template <typename T>
void put_object(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = v->to_json();
}

}  // namespace

// ---- spec ----

json WorkspaceRef::to_json() const {
  json j = json::object();
  put(j, "node", node);
  put(j, "container", container);
  put(j, "workspaceId", workspace_id);
  put(j, "composeProject", compose_project);
  return j;
}

Result<WorkspaceRef> WorkspaceRef::from_json(const json& j, std::string_view path) {
  Fields f(j, std::string(path));
  WorkspaceRef w;
  w.node = f.string("node", kNodeName);
  w.container = f.string("container", kPlainName);
  w.workspace_id = f.string("workspaceId", kPlainName);
  w.compose_project = f.string("composeProject", kPlainName);
  if (!f.ok()) return f.error();
  int ways = (w.container ? 1 : 0) + (w.workspace_id ? 1 : 0) + (w.compose_project ? 1 : 0);
  if (ways != 1) {
    return Error(ErrorCode::kInvalidArgument,
                 f.path() + ": name the workspace in exactly one way: container (with node), workspaceId or composeProject");
  }
  if (w.container && !w.node) {
    return Error(ErrorCode::kInvalidArgument,
                 f.at("node") + ": workspace.container needs workspace.node: a container name is unique only on its node");
  }
  return w;
}

json RestoreFrom::to_json() const { return json{{"name", name}}; }

Result<RestoreFrom> RestoreFrom::from_json(const json& j, std::string_view path) {
  Fields f(j, std::string(path));
  RestoreFrom r;
  r.name = f.string("name", kObjectName, true).value_or("");
  if (!f.ok()) return f.error();
  return r;
}

json Destination::to_json() const {
  json j = json::object();
  put(j, "node", node);
  if (!node_selector.empty()) j["nodeSelector"] = node_selector;
  return j;
}

Result<Destination> Destination::from_json(const json& j, std::string_view path) {
  Fields f(j, std::string(path));
  Destination d;
  d.node = f.string("node", kNodeName);
  if (const json* sel = f.find("nodeSelector")) {
    std::string where = f.at("nodeSelector");
    if (!sel->is_object()) {
      f.fail(where, "must be a map of label keys to values, not " + type_name(*sel));
    } else if (sel->empty() || sel->size() > 16) {
      f.fail(where, "has " + std::to_string(sel->size()) + " labels; it must have 1 to 16");
    } else {
      for (auto it = sel->begin(); it != sel->end() && f.ok(); ++it) {
        if (!is_label_key(it.key())) {
          f.fail(where, "destination.nodeSelector keys must be label keys: an optional DNS-subdomain prefix and "
                        "'/', then a name of at most 63 letters, digits, '-', '_', '.' (not '" + it.key() + "')");
        } else if (!it->is_string()) {
          f.fail(where + "." + it.key(), "must be a string, not " + type_name(*it));
        } else if (f.check(where + "." + it.key(), it->get<std::string>(), kLabelValue)) {
          d.node_selector[it.key()] = it->get<std::string>();
        }
      }
    }
  }
  if (!f.ok()) return f.error();
  if (d.node && !d.node_selector.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 f.path() + ": destination.node and destination.nodeSelector cannot be used together: name one node, "
                            "or select among nodes");
  }
  return d;
}

json CheckpointSettings::to_json() const {
  json j = json::object();
  put_true(j, "tcpEstablished", tcp_established);
  put_true(j, "fileLocks", file_locks);
  put_true(j, "ignoreRootfs", ignore_rootfs);
  put_true(j, "leaveRunning", leave_running);
  return j;
}

Result<CheckpointSettings> CheckpointSettings::from_json(const json& j, std::string_view path) {
  Fields f(j, std::string(path));
  CheckpointSettings c;
  c.tcp_established = f.boolean("tcpEstablished").value_or(false);
  c.file_locks = f.boolean("fileLocks").value_or(false);
  c.ignore_rootfs = f.boolean("ignoreRootfs").value_or(false);
  c.leave_running = f.boolean("leaveRunning").value_or(false);
  if (!f.ok()) return f.error();
  return c;
}

json RestoreSettings::to_json() const {
  json j = json::object();
  put_true(j, "ignoreVolumes", ignore_volumes);
  put(j, "newName", new_name);
  return j;
}

Result<RestoreSettings> RestoreSettings::from_json(const json& j, std::string_view path) {
  Fields f(j, std::string(path));
  RestoreSettings r;
  r.ignore_volumes = f.boolean("ignoreVolumes").value_or(false);
  r.new_name = f.string("newName", kPlainName);
  if (!f.ok()) return f.error();
  return r;
}

json CompressionSettings::to_json() const {
  json j{{"algorithm", to_string(algorithm)}};
  put_int(j, "level", level);
  return j;
}

Result<CompressionSettings> CompressionSettings::from_json(const json& j, std::string_view path) {
  Fields f(j, std::string(path));
  CompressionSettings c;
  c.algorithm = f.enumeration("algorithm", parse_compression_algorithm).value_or(CompressionAlgorithm::kZstd);
  if (auto level = f.integer("level", 1, 19)) c.level = static_cast<int>(*level);
  if (!f.ok()) return f.error();
  if (c.level && c.algorithm != CompressionAlgorithm::kZstd) {
    return Error(ErrorCode::kInvalidArgument,
                 f.at("level") + ": compression.level applies to zstd only: remove it or set algorithm: zstd");
  }
  return c;
}

json WorkspaceCheckpointSpec::to_json() const {
  json j = json::object();
  put_object(j, "workspace", workspace);
  put_object(j, "restoreFrom", restore_from);
  put_object(j, "destination", destination);
  put_object(j, "checkpoint", checkpoint);
  put_object(j, "restore", restore);
  put_object(j, "compression", compression);
  put(j, "store", store);
  put_time(j, "deadline", deadline);
  j["reason"] = to_string(reason);
  put_int(j, "ttlSecondsAfterFinished", ttl_seconds_after_finished);
  return j;
}

Result<WorkspaceCheckpointSpec> WorkspaceCheckpointSpec::from_json(const json& j, std::string_view path) {
  Fields f(j, std::string(path));
  WorkspaceCheckpointSpec s;
  s.workspace = f.object<WorkspaceRef>("workspace");
  s.restore_from = f.object<RestoreFrom>("restoreFrom");
  s.destination = f.object<Destination>("destination");
  s.checkpoint = f.object<CheckpointSettings>("checkpoint");
  s.restore = f.object<RestoreSettings>("restore");
  s.compression = f.object<CompressionSettings>("compression");
  s.store = f.string("store", kStoreName);
  s.deadline = f.time("deadline");
  s.reason = f.enumeration("reason", parse_checkpoint_reason).value_or(CheckpointReason::kManual);
  if (auto ttl = f.integer("ttlSecondsAfterFinished", 0, std::numeric_limits<std::int32_t>::max())) {
    s.ttl_seconds_after_finished = static_cast<std::int32_t>(*ttl);
  }
  if (!f.ok()) return f.error();
  auto st = s.validate(path);
  if (!st) return st.error();
  return s;
}

Status WorkspaceCheckpointSpec::validate(std::string_view path) const {
  // The CRD's CEL rules on spec, with their messages and field paths.
  auto bad = [&](std::string_view field, const char* why) {
    return Error(ErrorCode::kInvalidArgument, std::string(path) + std::string(field) + ": " + why);
  };
  if (workspace.has_value() == restore_from.has_value()) {
    return bad("", "set exactly one of spec.workspace (checkpoint a running workspace) and spec.restoreFrom (restore "
                   "an existing checkpoint)");
  }
  if (restore_from && !destination) {
    return bad(".destination",
               "spec.restoreFrom needs spec.destination (destination: {} lets the controller choose a node)");
  }
  if (restore_from && (checkpoint || compression || store)) {
    return bad("", "spec.restoreFrom restores an existing archive as it was made: checkpoint, compression and store "
                   "do not apply");
  }
  if (destination && checkpoint && checkpoint->leave_running) {
    return bad(".checkpoint.leaveRunning",
               "checkpoint.leaveRunning keeps the workspace running on the source, so it cannot be restored "
               "elsewhere: remove leaveRunning or destination");
  }
  if (restore && !destination) return bad(".restore", "spec.restore options apply to a restore: set spec.destination too");
  if (restore && restore->new_name && checkpoint && checkpoint->tcp_established) {
    return bad(".restore.newName",
               "restore.newName gives the container a new address, so established TCP connections cannot be kept: "
               "drop newName or tcpEstablished");
  }
  if (restore && restore->new_name && workspace && workspace->compose_project) {
    return bad(".restore.newName", "restore.newName renames one container; a compose project has several");
  }
  return Ok{};
}

// ---- status ----

json Condition::to_json() const {
  json j{{"type", type},
         {"status", to_string(status)},
         {"reason", reason},
         {"message", message},
         {"lastTransitionTime", format_rfc3339(last_transition_time)}};
  put_int(j, "observedGeneration", observed_generation);
  return j;
}

Result<Condition> Condition::from_json(const json& j, std::string_view path) {
  Fields f(j, std::string(path));
  Condition c;
  c.type = f.string("type", kConditionType, true).value_or("");
  c.status = f.enumeration("status", parse_condition_status, true).value_or(ConditionStatus::kUnknown);
  c.reason = f.string("reason", kConditionReason, true).value_or("");
  c.message = f.string("message", kConditionMessage, true).value_or("");
  c.observed_generation = f.integer("observedGeneration", 0, std::numeric_limits<std::int64_t>::max());
  c.last_transition_time = f.time("lastTransitionTime", true).value_or(Time{});
  if (!f.ok()) return f.error();
  return c;
}

json RunningOn::to_json() const {
  json j{{"node", node}};
  put(j, "containerId", container_id);
  put(j, "address", address);
  return j;
}

Result<RunningOn> RunningOn::from_json(const json& j, std::string_view path) {
  Fields f(j, std::string(path));
  RunningOn r;
  r.node = f.string("node", kNodeName, true).value_or("");
  r.container_id = f.string("containerId", kContainerId);
  r.address = f.string("address", kAddress);
  if (!f.ok()) return f.error();
  return r;
}

json CheckpointRecord::to_json() const {
  json j{{"id", id}, {"store", store}, {"bytes", bytes}, {"encrypted", encrypted}};
  put(j, "digest", digest);
  return j;
}

Result<CheckpointRecord> CheckpointRecord::from_json(const json& j, std::string_view path) {
  Fields f(j, std::string(path));
  CheckpointRecord c;
  c.id = f.string("id", kPlainName, true).value_or("");
  c.store = f.string("store", kStoreName, true).value_or("");
  c.bytes = f.counter("bytes");
  c.digest = f.string("digest", kDigest);
  c.encrypted = f.boolean("encrypted").value_or(false);
  if (!f.ok()) return f.error();
  return c;
}

json StepTiming::to_json() const {
  json j{{"step", to_string(step)}, {"startedAt", format_rfc3339(started_at)}};
  put_time(j, "finishedAt", finished_at);
  put_int(j, "durationMilliseconds", duration_milliseconds);
  return j;
}

Result<StepTiming> StepTiming::from_json(const json& j, std::string_view path) {
  Fields f(j, std::string(path));
  StepTiming t;
  t.step = f.enumeration("step", parse_checkpoint_step, true).value_or(CheckpointStep::kPlan);
  t.started_at = f.time("startedAt", true).value_or(Time{});
  t.finished_at = f.time("finishedAt");
  t.duration_milliseconds = f.integer("durationMilliseconds", 0, std::numeric_limits<std::int64_t>::max());
  if (!f.ok()) return f.error();
  return t;
}

json CriuCheckpointStats::to_json() const {
  return json{{"freezingTimeMicroseconds", freezing_time_us}, {"frozenTimeMicroseconds", frozen_time_us},
              {"memdumpTimeMicroseconds", memdump_time_us},   {"memwriteTimeMicroseconds", memwrite_time_us},
              {"pagesScanned", pages_scanned},                {"pagesWritten", pages_written}};
}

Result<CriuCheckpointStats> CriuCheckpointStats::from_json(const json& j, std::string_view path) {
  Fields f(j, std::string(path));
  CriuCheckpointStats s;
  s.freezing_time_us = f.counter("freezingTimeMicroseconds");
  s.frozen_time_us = f.counter("frozenTimeMicroseconds");
  s.memdump_time_us = f.counter("memdumpTimeMicroseconds");
  s.memwrite_time_us = f.counter("memwriteTimeMicroseconds");
  s.pages_scanned = f.counter("pagesScanned");
  s.pages_written = f.counter("pagesWritten");
  if (!f.ok()) return f.error();
  return s;
}

json CriuRestoreStats::to_json() const {
  return json{{"forkingTimeMicroseconds", forking_time_us},
              {"restoreTimeMicroseconds", restore_time_us},
              {"pagesRestored", pages_restored}};
}

Result<CriuRestoreStats> CriuRestoreStats::from_json(const json& j, std::string_view path) {
  Fields f(j, std::string(path));
  CriuRestoreStats s;
  s.forking_time_us = f.counter("forkingTimeMicroseconds");
  s.restore_time_us = f.counter("restoreTimeMicroseconds");
  s.pages_restored = f.counter("pagesRestored");
  if (!f.ok()) return f.error();
  return s;
}

json CriuStats::to_json() const {
  json j = json::object();
  put_object(j, "checkpoint", checkpoint);
  put_object(j, "restore", restore);
  return j;
}

Result<CriuStats> CriuStats::from_json(const json& j, std::string_view path) {
  Fields f(j, std::string(path));
  CriuStats s;
  s.checkpoint = f.object<CriuCheckpointStats>("checkpoint");
  s.restore = f.object<CriuRestoreStats>("restore");
  if (!f.ok()) return f.error();
  return s;
}

json DeadlineOutcome::to_json() const {
  json j{{"met", met}};
  put_int(j, "marginMilliseconds", margin_milliseconds);
  return j;
}

Result<DeadlineOutcome> DeadlineOutcome::from_json(const json& j, std::string_view path) {
  Fields f(j, std::string(path));
  DeadlineOutcome d;
  d.met = f.boolean("met", true).value_or(false);
  d.margin_milliseconds = f.integer("marginMilliseconds", std::numeric_limits<std::int64_t>::min(),
                                    std::numeric_limits<std::int64_t>::max());
  if (!f.ok()) return f.error();
  return d;
}

const Condition* WorkspaceCheckpointStatus::condition(std::string_view type) const {
  for (const auto& c : conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

json AdoptedCheckpoint::to_json() const {
  json j{{"id", id}, {"operation", operation}};
  put(j, "store", store);
  return j;
}

Result<AdoptedCheckpoint> AdoptedCheckpoint::from_json(const json& j, std::string_view path) {
  Fields f(j, std::string(path));
  AdoptedCheckpoint a;
  a.id = f.string("id", kPlainName, true).value_or("");
  a.operation = f.string("operation", kPlainName, true).value_or("");
  a.store = f.string("store", kStoreName);
  if (!f.ok()) return f.error();
  return a;
}

json WorkspaceCheckpointStatus::to_json() const {
  json j = json::object();
  if (phase) j["phase"] = to_string(*phase);
  put_int(j, "observedGeneration", observed_generation);
  if (!conditions.empty()) {
    j["conditions"] = json::array();
    for (const auto& c : conditions) j["conditions"].push_back(c.to_json());
  }
  put(j, "sourceNode", source_node);
  put(j, "destinationNode", destination_node);
  put(j, "workspaceId", workspace_id);
  if (decision) j["decision"] = to_string(*decision);
  put_object(j, "runningOn", running_on);
  put_object(j, "checkpoint", checkpoint);
  put_object(j, "adopted", adopted);
  if (checkpoint_retakes > 0) j["checkpointRetakes"] = checkpoint_retakes;
  if (!timings.empty()) {
    j["timings"] = json::array();
    for (const auto& t : timings) j["timings"].push_back(t.to_json());
  }
  put_object(j, "criu", criu);
  put_object(j, "deadline", deadline);
  put_time(j, "finishedAt", finished_at);
  if (!message.empty()) j["message"] = message;
  return j;
}

Result<WorkspaceCheckpointStatus> WorkspaceCheckpointStatus::from_json(const json& j, std::string_view path) {
  Fields f(j, std::string(path));
  WorkspaceCheckpointStatus s;
  s.phase = f.enumeration("phase", parse_checkpoint_phase);
  s.observed_generation = f.integer("observedGeneration", 0, std::numeric_limits<std::int64_t>::max());
  s.conditions = f.list<Condition>("conditions", 16, [](const Condition& c) -> const std::string& { return c.type; },
                                   "type");
  s.source_node = f.string("sourceNode", kNodeName);
  s.destination_node = f.string("destinationNode", kNodeName);
  s.workspace_id = f.string("workspaceId", kPlainName);
  s.decision = f.enumeration("decision", parse_migration_decision);
  s.running_on = f.object<RunningOn>("runningOn");
  s.checkpoint = f.object<CheckpointRecord>("checkpoint");
  s.adopted = f.object<AdoptedCheckpoint>("adopted");
  s.checkpoint_retakes = f.integer("checkpointRetakes", 0, kMaxCheckpointRetakes).value_or(0);
  s.timings = f.list<StepTiming>("timings", 16, [](const StepTiming& t) { return to_string(t.step); }, "step");
  s.criu = f.object<CriuStats>("criu");
  s.deadline = f.object<DeadlineOutcome>("deadline");
  s.finished_at = f.time("finishedAt");
  s.message = f.string("message", kStatusMessage).value_or("");
  if (!f.ok()) return f.error();
  return s;
}

}  // namespace wscp::kube
