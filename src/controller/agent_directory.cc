#include "controller/agent_directory.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "agent/registration/node_registration.h"
#include "kube/base64.h"
#include "kube/workspace_checkpoint.h"

namespace wscp::controller {

using nlohmann::json;
namespace reg = agent::registration;

namespace {

constexpr std::string_view kLeasePrefix = "wscp-agent-";
constexpr std::size_t kMaxObjectName = 253;
constexpr std::size_t kMaxHolderLength = 512;
constexpr std::size_t kMaxNoticeField = 256;

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// A Kubernetes node name: an RFC 1123 subdomain.
bool valid_node_name(std::string_view n) {
  if (n.empty() || n.size() > kMaxObjectName) return false;
  if (!is_lower_alnum(n.front()) || !is_lower_alnum(n.back())) return false;
  return std::all_of(n.begin(), n.end(), [](char c) { return is_lower_alnum(c) || c == '-' || c == '.'; });
}

// A DNS name or an IPv4 address, as a URL's host.
bool valid_dns_host(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  bool all_numeric = true;
  std::size_t start = 0;
  while (start <= host.size()) {
    std::size_t dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    std::string_view label = host.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
      if (!std::isdigit(static_cast<unsigned char>(c))) all_numeric = false;
    }
    start = dot + 1;
  }
  if (all_numeric) {  // looks like IPv4: must be one
    in_addr a{};
    return ::inet_pton(AF_INET, std::string(host).c_str(), &a) == 1;
  }
  return true;
}

// "ab:cd:..." (32 bytes); lowercased, or nullopt.
std::optional<std::string> normalized_fingerprint(std::string_view f) {
  if (f.size() != 32 * 3 - 1) return std::nullopt;
  std::string out(f);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(out[i])));
    if (i % 3 == 2) {
      if (c != ':') return std::nullopt;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
    out[i] = c;
  }
  return out;
}

// "sha256//" + standard base64 of 32 bytes (44 characters, one '=').
bool valid_public_key_pin(std::string_view pin) {
  constexpr std::string_view prefix = "sha256//";
  if (!pin.starts_with(prefix) || pin.size() != prefix.size() + 44) return false;
  std::string_view b64 = pin.substr(prefix.size());
  if (b64.back() != '=') return false;
  for (char c : b64.substr(0, 43))
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') return false;
  auto decoded = kube::base64_decode(b64);
  return decoded.ok() && decoded->size() == 32;
}

bool valid_capability(std::string_view c) {
  return std::all_of(c.begin(), c.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == ':' || ch == '-' || ch == '_' || ch == '.';
  });
}

// A notice field when it is a string of sensible size, else "".
std::string loose_string(const json& notice, const char* key) {
  const json* v = member(notice, key);
  if (!v || !v->is_string()) return {};
  const auto& s = v->get_ref<const std::string&>();
  return s.size() <= kMaxNoticeField ? s : std::string();
}

std::string describe_time(WallTime t) { return kube::format_rfc3339(t); }

// What one Lease says, gathered field by field into `problems`.
class LeaseReader {
 public:
  LeaseReader(const json& lease, FieldProblems& problems) : lease_(lease), problems_(problems) {}

  std::string lease_id() const {
    const json* meta = member(lease_, "metadata");
    const json* name = meta ? member(*meta, "name") : nullptr;
    const json* ns = meta ? member(*meta, "namespace") : nullptr;
    std::string id = ns && ns->is_string() ? excerpt(ns->get<std::string>(), 80) + "/" : "";
    id += name && name->is_string() ? excerpt(name->get<std::string>(), 120) : "(unnamed)";
    return id;
  }

  // The annotation `key` as text; nullopt when absent or empty.
  std::optional<std::string> annotation(const char* key, std::size_t max_bytes) {
    const json* meta = member(lease_, "metadata");
    const json* annotations = meta ? member(*meta, "annotations") : nullptr;
    if (!annotations || annotations->is_null()) return std::nullopt;
    const json* v = member(*annotations, key);
    if (!v || v->is_null()) return std::nullopt;
    auto s = read_string(*v, max_bytes, std::string("annotation ") + key, problems_, true);
    if (!s || s->empty()) return std::nullopt;
    return s;
  }

  std::optional<std::string> required_annotation(const char* key, std::size_t max_bytes) {
    const json* meta = member(lease_, "metadata");
    const json* annotations = meta ? member(*meta, "annotations") : nullptr;
    const json* v = annotations ? member(*annotations, key) : nullptr;
    if (!v || (v->is_string() && v->get_ref<const std::string&>().empty())) {
      problems_.add(std::string("annotation ") + key, "is missing");
      return std::nullopt;
    }
    return annotation(key, max_bytes);
  }

 private:
  const json& lease_;
  FieldProblems& problems_;
};

void read_identity(const json& lease, AgentInfo& info, FieldProblems& problems) {
  const json* meta = member(lease, "metadata");
  if (!meta || !meta->is_object()) {
    problems.add("metadata", "must be a JSON object");
    return;
  }
  const json* name_j = member(*meta, "name");
  auto name = name_j ? read_string(*name_j, kMaxObjectName, "metadata.name", problems) : std::nullopt;
  if (!name_j) problems.add("metadata.name", "is missing");
  if (name) {
    if (!name->starts_with(kLeasePrefix) || !valid_node_name(name->substr(kLeasePrefix.size()))) {
      problems.add("metadata.name", "must be wscp-agent-<node> with a node name of lowercase letters, digits, "
                                    "'-' and '.'");
    } else {
      info.node = name->substr(kLeasePrefix.size());
    }
  }
  for (const char* map : {"labels", "annotations"}) {
    const json* m = member(*meta, map);
    if (m && !m->is_null() && !m->is_object())
      problems.add(std::string("metadata.") + map, "must be an object of strings");
  }
  const json* labels = member(*meta, "labels");
  const json* node_label = labels ? member(*labels, reg::kNodeLabel) : nullptr;
  if (!node_label) {
    problems.add(std::string("label ") + reg::kNodeLabel, "is missing");
  } else if (auto label = read_string(*node_label, kMaxObjectName, std::string("label ") + reg::kNodeLabel, problems);
             label && !info.node.empty() && *label != info.node) {
    problems.add(std::string("label ") + reg::kNodeLabel,
                 "says node \"" + excerpt(*label) + "\" but the Lease's name says \"" + info.node + "\"");
  }
}

void read_connection(LeaseReader& in, AgentInfo& info, FieldProblems& problems) {
  if (auto url = in.required_annotation(reg::kEndpointAnnotation, kMaxEndpointLength)) {
    if (auto ep = parse_agent_endpoint(*url); ep) {
      info.host = ep->host;
      info.port = ep->port;
      info.endpoint = "https://" + ep->host + ":" + std::to_string(ep->port);
    } else {
      problems.add(std::string("annotation ") + reg::kEndpointAnnotation, ep.error().message());
    }
  }
  if (auto f = in.required_annotation(reg::kFingerprintAnnotation, 128)) {
    if (auto normal = normalized_fingerprint(*f)) info.certificate_sha256 = *normal;
    else
      problems.add(std::string("annotation ") + reg::kFingerprintAnnotation,
                   "must be a SHA-256 fingerprint as 32 hex pairs joined by ':', got \"" + excerpt(*f) + "\"");
  }
  if (auto pin = in.required_annotation(reg::kPublicKeyPinAnnotation, 128)) {
    if (valid_public_key_pin(*pin)) info.public_key_pin = *pin;
    else
      problems.add(std::string("annotation ") + reg::kPublicKeyPinAnnotation,
                   "must be sha256// and the base64 of 32 bytes, got \"" + excerpt(*pin) + "\"");
  }
}

void read_capabilities(LeaseReader& in, AgentInfo& info, FieldProblems& problems) {
  const std::string field = std::string("annotation ") + reg::kCapabilitiesAnnotation;
  auto text = in.annotation(reg::kCapabilitiesAnnotation, 4096);
  if (!text) return;
  auto j = parse_bounded(*text, 4096, field, problems, 2);
  if (!j) return;
  if (!j->is_array()) {
    problems.add(field, "must be a JSON array of strings");
    return;
  }
  if (j->size() > kMaxCapabilities) {
    problems.add(field, "lists " + std::to_string(j->size()) + " capabilities, at most " +
                            std::to_string(kMaxCapabilities) + " are accepted");
    return;
  }
  for (std::size_t i = 0; i < j->size(); ++i) {
    const std::string at = field + "[" + std::to_string(i) + "]";
    auto c = read_string((*j)[i], kMaxCapabilityLength, at, problems);
    if (!c) continue;
    if (!valid_capability(*c)) {
      problems.add(at, "may hold only letters, digits and ':-_.', got \"" + excerpt(*c) + "\"");
      continue;
    }
    info.capabilities.push_back(std::move(*c));
  }
}

void read_capacity_annotation(LeaseReader& in, AgentInfo& info, FieldProblems& problems) {
  const std::string field = std::string("annotation ") + reg::kCapacityAnnotation;
  auto text = in.annotation(reg::kCapacityAnnotation, kMaxCapacityBytes);
  if (!text) return;
  auto j = parse_bounded(*text, kMaxCapacityBytes, field, problems, 4);
  if (!j) return;
  if (auto c = read_capacity(*j, field + ".", problems)) info.capacity = std::move(*c);
}

void read_readiness(LeaseReader& in, AgentInfo& info, FieldProblems& problems) {
  auto text = in.annotation(reg::kReadyAnnotation, 4096);
  if (!text || *text == "unknown") return;
  if (*text == "true") {
    info.not_ready = std::string();
  } else if (text->starts_with("false: ") && text->size() > 7) {
    info.not_ready = text->substr(7);
  } else {
    problems.add(std::string("annotation ") + reg::kReadyAnnotation,
                 "must be \"true\", \"unknown\" or \"false: <reason>\", not \"" + excerpt(*text, 40) + "\"");
  }
}

void read_notice(LeaseReader& in, AgentInfo& info, FieldProblems& problems) {
  const std::string field = std::string("annotation ") + reg::kNoticeAnnotation;
  auto text = in.annotation(reg::kNoticeAnnotation, kMaxNoticeBytes);
  if (!text) return;
  auto j = parse_bounded(*text, kMaxNoticeBytes, field, problems);
  if (!j) return;
  if (!j->is_object()) {
    problems.add(field, "must be a JSON object");
    return;
  }
  NoticeInfo n;
  n.provider = loose_string(*j, "provider");
  n.kind = loose_string(*j, "kind");
  n.id = loose_string(*j, "id");
  n.action = loose_string(*j, "action");
  if (auto d = loose_string(*j, "deadline"); !d.empty()) {
    if (auto t = kube::parse_rfc3339(d); t) n.deadline = *t;
  }
  info.termination_notice = std::move(n);
}

void read_evacuation(LeaseReader& in, AgentInfo& info, FieldProblems& problems) {
  const std::string field = std::string("annotation ") + reg::kEvacuationAnnotation;
  auto text = in.annotation(reg::kEvacuationAnnotation, kMaxEvacuationBytes);
  if (!text) return;
  auto j = parse_bounded(*text, kMaxEvacuationBytes, field, problems);
  if (!j) return;
  if (!j->is_object()) {
    problems.add(field, "must be a JSON object");
    return;
  }
  EvacuationInfo e;
  const json* ws = member(*j, "workspaces");
  if (ws && !ws->is_null()) {
    if (!ws->is_array()) {
      problems.add(field + ".workspaces", "must be an array");
      return;
    }
    if (ws->size() > kMaxEvacuatedWorkspaces) {
      problems.add(field + ".workspaces", "lists " + std::to_string(ws->size()) + " workspaces, at most " +
                                              std::to_string(kMaxEvacuatedWorkspaces) + " are accepted");
      return;
    }
    bool ok = true;
    for (std::size_t i = 0; i < ws->size(); ++i) {
      const json& w = (*ws)[i];
      const std::string at = field + ".workspaces[" + std::to_string(i) + "]";
      if (!w.is_object()) {
        problems.add(at, "must be a JSON object");
        ok = false;
        continue;
      }
      auto get = [&](const char* key, std::size_t max) -> std::optional<std::string> {
        const json* v = member(w, key);
        if (!v) {
          problems.add(at + "." + key, "is missing");
          return std::nullopt;
        }
        return read_string(*v, max, at + "." + key, problems);
      };
      auto workspace = get("workspace", kMaxNameLength);
      auto checkpoint = get("checkpointId", kMaxNameLength);
      auto state = get("state", 32);
      auto operation = get("operation", 128);
      if (!workspace || !checkpoint || !state || !operation) {
        ok = false;
        continue;
      }
      e.workspaces.push_back({std::move(*workspace), std::move(*checkpoint), std::move(*state), std::move(*operation)});
    }
    if (!ok) return;
  }
  e.document = std::move(*j);
  info.evacuation = std::move(e);
}

void read_spec(const json& lease, AgentInfo& info, FieldProblems& problems) {
  const json* spec = member(lease, "spec");
  if (!spec || !spec->is_object()) {
    problems.add("spec", "must be a JSON object");
    return;
  }
  if (const json* h = member(*spec, "holderIdentity"); h && !h->is_null()) {
    if (auto holder = read_string(*h, kMaxHolderLength, "spec.holderIdentity", problems, true))
      info.holder = std::move(*holder);
  }
  const json* renew = member(*spec, "renewTime");
  if (!renew || renew->is_null()) {
    problems.add("spec.renewTime", "is missing: the agent never renewed its Lease");
  } else if (auto text = read_string(*renew, 64, "spec.renewTime", problems)) {
    if (auto t = kube::parse_rfc3339(*text); t) info.renew_time = *t;
    else problems.add("spec.renewTime", "is not an RFC 3339 time: \"" + excerpt(*text) + "\"");
  }
  const json* duration = member(*spec, "leaseDurationSeconds");
  if (!duration || duration->is_null()) {
    problems.add("spec.leaseDurationSeconds", "is missing");
  } else if (auto d = read_unsigned(*duration, "spec.leaseDurationSeconds", problems,
                                    static_cast<std::uint64_t>(kMaxLeaseDuration.count()))) {
    if (*d == 0) problems.add("spec.leaseDurationSeconds", "must be at least 1");
    else info.lease_duration = std::chrono::seconds(*d);
  }
}

std::optional<std::string> lease_name_of(const json& lease) {
  const json* meta = member(lease, "metadata");
  const json* name = meta ? member(*meta, "name") : nullptr;
  if (!name || !name->is_string()) return std::nullopt;
  return name->get<std::string>();
}

}  // namespace

std::string EvacuationInfo::store() const {
  const json* s = document.is_object() ? member(document, "store") : nullptr;
  return s && s->is_string() ? s->get<std::string>() : std::string();
}

const EvacuatedWorkspace* EvacuationInfo::adoptable(std::string_view workspace, bool running) const {
  for (const auto& w : workspaces) {
    if (w.workspace != workspace) continue;
    if (w.state == "checkpointing" || (w.state == "checkpointed" && !running)) return &w;
  }
  return nullptr;
}

bool AgentInfo::has_capability(std::string_view capability) const {
  return std::find(capabilities.begin(), capabilities.end(), capability) != capabilities.end();
}

Result<AgentEndpoint> parse_agent_endpoint(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return Error(ErrorCode::kInvalidArgument, std::string(why) + ", got \"" + excerpt(url) + "\"");
  };
  if (url.size() > kMaxEndpointLength) return bad("must be at most " + std::to_string(kMaxEndpointLength) + " characters");
  constexpr std::string_view scheme = "https://";
  if (!url.starts_with(scheme)) return bad("must be an https:// URL (the agent serves only mutual TLS)");
  std::string_view rest = url.substr(scheme.size());
  const std::size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (end != std::string_view::npos && rest.substr(end) != "/")
    return bad("must be https://host:port with no path, query or fragment");
  if (authority.find('@') != std::string_view::npos) return bad("must not carry user information");

  AgentEndpoint ep;
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("has an IPv6 address without its closing ']'");
    std::string address(authority.substr(1, close - 1));
    in6_addr a{};
    if (::inet_pton(AF_INET6, address.c_str(), &a) != 1) return bad("has an invalid IPv6 address");
    ep.host = std::string(authority.substr(0, close + 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.starts_with(':')) return bad("must name the port (https://host:port)");
    port_text = after.substr(1);
  } else {
    const std::size_t colon = authority.rfind(':');
    if (colon == std::string_view::npos) return bad("must name the port (https://host:port)");
    std::string_view host = authority.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return bad("has an IPv6 address without brackets");
    if (!valid_dns_host(host)) return bad("has an invalid host (a DNS name or an IP address)");
    ep.host = std::string(host);
    port_text = authority.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return bad("has an invalid port");
  const int port = std::stoi(std::string(port_text));
  if (port < 1 || port > 65535) return bad("has a port outside 1-65535");
  ep.port = static_cast<std::uint16_t>(port);
  return ep;
}

Result<AgentInfo> parse_agent_lease(const json& lease, WallTime now) {
  if (!lease.is_object()) return Error(ErrorCode::kInvalidArgument, "Lease (unnamed): must be a JSON object");
  FieldProblems problems;
  LeaseReader in(lease, problems);
  AgentInfo info;
  info.lease = in.lease_id();
  read_identity(lease, info, problems);
  read_connection(in, info, problems);
  read_capabilities(in, info, problems);
  read_capacity_annotation(in, info, problems);
  read_readiness(in, info, problems);
  read_notice(in, info, problems);
  read_evacuation(in, info, problems);
  read_spec(lease, info, problems);
  if (!problems.empty())
    return Error(ErrorCode::kInvalidArgument, "Lease " + info.lease + ": " + problems.joined());
  info.live = info.live_at(now);
  return info;
}

AgentDirectory::AgentDirectory(std::shared_ptr<Clock> clock) : clock_(clock ? std::move(clock) : system_clock()) {}

bool AgentDirectory::upsert(const json& lease) {
  auto name = lease_name_of(lease);
  if (!name || !name->starts_with(kLeasePrefix)) return false;
  auto parsed = parse_agent_lease(lease, clock_->wall_now());
  std::lock_guard lock(mu_);
  by_lease_name_.insert_or_assign(*name, std::move(parsed));
  return true;
}

void AgentDirectory::remove(std::string_view lease_name) {
  std::lock_guard lock(mu_);
  if (auto it = by_lease_name_.find(lease_name); it != by_lease_name_.end()) by_lease_name_.erase(it);
}

void AgentDirectory::remove_lease(const json& lease) {
  if (auto name = lease_name_of(lease)) remove(*name);
}

Result<AgentInfo> AgentDirectory::find(std::string_view node) const {
  const std::string shown = excerpt(node, 253);
  Result<AgentInfo> entry = Error(ErrorCode::kNotFound, "no agent registered for node " + shown);
  {
    std::lock_guard lock(mu_);
    auto it = by_lease_name_.find(reg::lease_name(node));
    if (it == by_lease_name_.end()) return entry;
    entry = it->second;
  }
  if (!entry) {
    return Error(ErrorCode::kInvalidArgument,
                 "agent of node " + shown + " published an invalid registration: " + entry.error().message());
  }
  AgentInfo info = std::move(*entry);
  const WallTime now = clock_->wall_now();
  info.live = info.live_at(now);
  if (!info.live) {
    const auto ago = std::chrono::duration_cast<std::chrono::seconds>(now - info.renew_time);
    return Error(ErrorCode::kUnavailable, "agent of node " + shown + " last renewed its Lease at " +
                                              describe_time(info.renew_time) + " (expired: renewed " +
                                              std::to_string(ago.count()) + "s ago, valid for " +
                                              std::to_string(info.lease_duration.count()) + "s)");
  }
  return info;
}

std::vector<AgentInfo> AgentDirectory::live_agents() const {
  const WallTime now = clock_->wall_now();
  std::vector<AgentInfo> out;
  std::lock_guard lock(mu_);
  for (const auto& [name, entry] : by_lease_name_) {
    if (!entry || !entry->live_at(now)) continue;
    AgentInfo info = *entry;
    info.live = true;
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(), [](const AgentInfo& a, const AgentInfo& b) { return a.node < b.node; });
  return out;
}

std::size_t AgentDirectory::size() const {
  std::lock_guard lock(mu_);
  return by_lease_name_.size();
}

kube::InformerHandlers AgentDirectory::informer_handlers() {
  kube::InformerHandlers h;
  h.on_add = [this](const json& lease) { upsert(lease); };
  h.on_update = [this](const json&, const json& lease) { upsert(lease); };
  h.on_delete = [this](const json& lease) { remove_lease(lease); };
  return h;
}

}  // namespace wscp::controller
