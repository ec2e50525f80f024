#include "agent/config/agent_config.h"

#include "http/client.h"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "agent/config/quantity.h"

namespace wscp::agent {
namespace {

using std::chrono::milliseconds;

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

// RFC 1123 label: lowercase letters, digits and '-', alphanumeric at both ends.
bool is_dns_label(std::string_view s, std::size_t max = 63) {
  if (s.empty() || s.size() > max || !is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
}

// RFC 1123 subdomain, as Kubernetes names nodes.
bool is_dns_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = s.find('.', start);
    if (!is_dns_label(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool is_ip_literal(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// A Kubernetes label key: [prefix/]name, name <= 63 of [A-Za-z0-9-_.],
// alphanumeric at both ends; the prefix a DNS subdomain.
bool is_label_key(std::string_view s) {
  std::string_view name = s;
  if (auto slash = s.find('/'); slash != std::string_view::npos) {
    if (!is_dns_subdomain(s.substr(0, slash))) return false;
    name = s.substr(slash + 1);
  }
  if (name.empty() || name.size() > 63 || !is_alnum(name.front()) || !is_alnum(name.back())) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool is_http_url(std::string_view s) {
  std::string_view rest;
  if (s.starts_with("http://")) rest = s.substr(7);
  else if (s.starts_with("https://")) rest = s.substr(8);
  else return false;
  return !rest.empty() && rest.front() != '/' && rest.find_first_of(" \t\r\n?#") == std::string_view::npos;
}

std::string show(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

// Reads one YAML document, remembering every problem with the key it is
// about, so that a user fixes them all in one round.
class Reader {
 public:
  std::vector<std::string> errors;

  void fail(const std::string& key, const std::string& what) { errors.push_back("key '" + key + "': " + what); }

  static std::string join_key(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

  // A mapping whose keys are all among `allowed`. Absent or null = empty.
  bool mapping(const YAML::Node& node, const std::string& path, const std::vector<std::string>& allowed) {
    if (!node.IsDefined() || node.IsNull()) return false;
    if (!node.IsMap()) {
      fail(path.empty() ? "(top level)" : path, "must be a mapping of keys to values");
      return false;
    }
    for (const auto& kv : node) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        fail(join_key(path, key), "unknown key (allowed here: " + join(allowed) + ")");
      }
    }
    return true;
  }

  // The scalar text at node[key], or nullopt when absent (or on error).
  std::optional<std::string> scalar(const YAML::Node& node, const std::string& path, std::string_view key) {
    if (!node.IsDefined() || !node.IsMap()) return std::nullopt;
    const YAML::Node v = node[std::string(key)];
    if (!v.IsDefined()) return std::nullopt;
    if (v.IsNull()) {
      fail(join_key(path, key), "has no value (remove the key to use the default, or give a value)");
      return std::nullopt;
    }
    if (!v.IsScalar()) {
      fail(join_key(path, key), "must be a single value, not a list or mapping");
      return std::nullopt;
    }
    return v.Scalar();
  }

  void string(const YAML::Node& node, const std::string& path, std::string_view key, std::string& out,
              const std::function<std::optional<std::string>(const std::string&)>& check = {}) {
    auto v = scalar(node, path, key);
    if (!v) return;
    if (v->empty()) {
      fail(join_key(path, key), "must not be empty");
      return;
    }
    if (check) {
      if (auto problem = check(*v)) {
        fail(join_key(path, key), *problem + ", got " + show(*v));
        return;
      }
    }
    out = *v;
  }

  void absolute_path(const YAML::Node& node, const std::string& path, std::string_view key, std::string& out) {
    string(node, path, key, out, [](const std::string& v) -> std::optional<std::string> {
      if (v.front() != '/') return "must be an absolute path (starting with /)";
      return std::nullopt;
    });
  }

  void boolean(const YAML::Node& node, const std::string& path, std::string_view key, bool& out) {
    auto v = scalar(node, path, key);
    if (!v) return;
    if (*v == "true") out = true;
    else if (*v == "false") out = false;
    else fail(join_key(path, key), "must be true or false, got " + show(*v));
  }

  template <typename Int>
  void integer(const YAML::Node& node, const std::string& path, std::string_view key, Int& out, long long min,
               long long max) {
    auto v = scalar(node, path, key);
    if (!v) return;
    long long n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || end != v->data() + v->size() || n < min || n > max) {
      fail(join_key(path, key),
           "must be an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got " + show(*v));
      return;
    }
    out = static_cast<Int>(n);
  }

  void duration(const YAML::Node& node, const std::string& path, std::string_view key, milliseconds& out,
                milliseconds min, milliseconds max) {
    auto v = scalar(node, path, key);
    if (!v) return;
    auto d = parse_duration(*v);
    if (!d || *d < min || *d > max) {
      fail(join_key(path, key), "must be a duration from " + format_duration(min) + " to " + format_duration(max) +
                                    " with a unit (ms, s, m, h; e.g. \"5s\", \"1m30s\"), got " + show(*v));
      return;
    }
    out = *d;
  }

  void whole_seconds(const YAML::Node& node, const std::string& path, std::string_view key, std::chrono::seconds& out,
                     std::chrono::seconds min, std::chrono::seconds max) {
    milliseconds d = out;
    const std::size_t before = errors.size();
    duration(node, path, key, d, min, max);
    if (errors.size() != before) return;
    if (d.count() % 1000 != 0) {
      fail(join_key(path, key), "must be whole seconds, got " + format_duration(d));
      return;
    }
    out = std::chrono::duration_cast<std::chrono::seconds>(d);
  }

  void byte_size(const YAML::Node& node, const std::string& path, std::string_view key, std::uint64_t& out,
                 std::uint64_t min, std::uint64_t max) {
    auto v = scalar(node, path, key);
    if (!v) return;
    auto n = parse_byte_size(*v);
    if (!n || *n < min || *n > max) {
      fail(join_key(path, key), "must be a size from " + format_byte_size(min) + " to " + format_byte_size(max) +
                                    " (bytes, or with a unit: KiB, MiB, GiB, TiB), got " + show(*v));
      return;
    }
    out = *n;
  }

  void string_list(const YAML::Node& node, const std::string& path, std::string_view key,
                   std::vector<std::string>& out,
                   const std::function<std::optional<std::string>(const std::string&)>& check = {}) {
    if (!node.IsDefined() || !node.IsMap()) return;
    const YAML::Node v = node[std::string(key)];
    if (!v.IsDefined() || v.IsNull()) return;
    const std::string k = join_key(path, key);
    if (!v.IsSequence()) {
      fail(k, "must be a list (e.g. [a, b])");
      return;
    }
    std::vector<std::string> items;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string ik = k + "[" + std::to_string(i) + "]";
      if (!v[i].IsScalar() || v[i].Scalar().empty()) {
        fail(ik, "must be a non-empty string");
        continue;
      }
      if (check) {
        if (auto problem = check(v[i].Scalar())) {
          fail(ik, *problem + ", got " + show(v[i].Scalar()));
          continue;
        }
      }
      items.push_back(v[i].Scalar());
    }
    out = std::move(items);
  }
};

std::optional<std::string> check_address(const std::string& v) {
  if (is_ip_literal(v) || is_dns_subdomain(v)) return std::nullopt;
  return "must be an IP address or a host name";
}

std::optional<std::string> check_label_key(const std::string& v) {
  if (is_label_key(v)) return std::nullopt;
  return "must be a label key ([prefix/]name, e.g. dev.containers.id)";
}

std::optional<std::string> check_http_url(const std::string& v) {
  if (is_http_url(v)) return std::nullopt;
  return "must be an http:// or https:// URL with a host and no query";
}

void read_tls(Reader& r, const YAML::Node& n, const std::string& p, TlsConfig& tls) {
  if (!r.mapping(n, p, {"client_ca", "allowed_subjects", "key", "cert", "signing_ca", "serving_names"})) {
    r.fail(Reader::join_key(p, "client_ca"), "is required: the CA file whose client certificates may use the API");
    return;
  }
  r.absolute_path(n, p, "client_ca", tls.client_ca);
  if (tls.client_ca.empty() && !n["client_ca"].IsDefined()) {
    r.fail(Reader::join_key(p, "client_ca"), "is required: the CA file whose client certificates may use the API");
  }
  r.string_list(n, p, "allowed_subjects", tls.allowed_subjects);
  r.absolute_path(n, p, "key", tls.key);
  r.absolute_path(n, p, "cert", tls.cert);
  const std::string sp = Reader::join_key(p, "signing_ca");
  const YAML::Node s = n["signing_ca"];
  if (r.mapping(s, sp, {"cert", "key"})) {
    r.absolute_path(s, sp, "cert", tls.signing_ca_cert);
    r.absolute_path(s, sp, "key", tls.signing_ca_key);
    if (tls.signing_ca_cert.empty() != tls.signing_ca_key.empty()) {
      r.fail(sp, "needs both cert and key (or leave signing_ca out for a self-signed serving certificate)");
    }
  }
  r.string_list(n, p, "serving_names", tls.serving_names, check_address);
}

void read_api(Reader& r, const YAML::Node& n, ApiConfig& api) {
  const std::string p = "api";
  if (!r.mapping(n, p, {"address", "port", "max_body_size", "tls"})) {
    r.fail("api.tls.client_ca", "is required: the CA file whose client certificates may use the API");
    return;
  }
  r.string(n, p, "address", api.address, check_address);
  r.integer(n, p, "port", api.port, 1, 65535);
  r.byte_size(n, p, "max_body_size", api.max_body_bytes, 1ull << 10, 64ull << 20);
  read_tls(r, n["tls"], "api.tls", api.tls);
}

void read_stores(Reader& r, const YAML::Node& n, std::vector<StoreConfig>& stores) {
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsMap()) {
    r.fail("stores", "must be a mapping of store names to stores (e.g. stores: {main: {url: s3://bucket/prefix}})");
    return;
  }
  for (const auto& kv : n) {
    StoreConfig store;
    store.name = kv.first.Scalar();
    const std::string p = "stores." + store.name;
    if (!is_dns_label(store.name)) {
      r.fail(p, "store names are lowercase letters, digits and '-' (at most 63, alphanumeric at both ends)");
    }
    if (!r.mapping(kv.second, p, {"url", "credentials_dir", "keyring", "compression_level"})) {
      r.fail(p + ".url", "is required: where the store is (s3://bucket/prefix, file:///dir or /dir)");
      continue;
    }
    r.string(kv.second, p, "url", store.url, [](const std::string& v) -> std::optional<std::string> {
      if (v.starts_with("s3://") && v.size() > 5 && v[5] != '/') return std::nullopt;
      if (v.starts_with("file:///") || v.front() == '/') return std::nullopt;
      return "must be s3://bucket[/prefix][?endpoint=URL], file:///dir or an absolute directory";
    });
    if (store.url.empty() && !kv.second["url"].IsDefined()) {
      r.fail(p + ".url", "is required: where the store is (s3://bucket/prefix, file:///dir or /dir)");
    }
    r.absolute_path(kv.second, p, "credentials_dir", store.credentials_dir);
    if (!store.credentials_dir.empty() && !store.url.starts_with("s3://")) {
      r.fail(p + ".credentials_dir", "is for S3 stores only (this store's url is not s3://)");
    } else if (!store.credentials_dir.empty() && store.url.find("credentials_dir=") != std::string::npos) {
      r.fail(p + ".credentials_dir", "is also set in the store's url: give it in one place");
    }
    r.absolute_path(kv.second, p, "keyring", store.keyring);
    r.integer(kv.second, p, "compression_level", store.compression_level, 0, 19);
    stores.push_back(std::move(store));
  }
}

void read_notices(Reader& r, const YAML::Node& n, AgentConfig& c) {
  const std::string p = "notices";
  NoticesConfig& notices = c.notices;
  if (r.mapping(n, p, {"store", "priority_label", "default_window", "resume_grace", "aws", "gce", "azure"})) {
    r.string(n, p, "store", notices.store);
    r.string(n, p, "priority_label", notices.priority_label, check_label_key);
    r.duration(n, p, "default_window", notices.default_window, milliseconds(1000), milliseconds(3'600'000));
    r.duration(n, p, "resume_grace", notices.resume_grace, milliseconds(0), milliseconds(86'400'000));
    const YAML::Node aws = n["aws"];
    if (r.mapping(aws, "notices.aws", {"enabled", "base_url", "poll_interval", "token_ttl"})) {
      r.boolean(aws, "notices.aws", "enabled", notices.aws.enabled);
      r.string(aws, "notices.aws", "base_url", notices.aws.base_url, check_http_url);
      r.duration(aws, "notices.aws", "poll_interval", notices.aws.poll_interval, milliseconds(100),
                 milliseconds(300'000));
      r.whole_seconds(aws, "notices.aws", "token_ttl", notices.aws.token_ttl, std::chrono::seconds(1),
                      std::chrono::seconds(21600));
    }
    const YAML::Node gce = n["gce"];
    if (r.mapping(gce, "notices.gce", {"enabled", "base_url", "wait_timeout"})) {
      r.boolean(gce, "notices.gce", "enabled", notices.gce.enabled);
      r.string(gce, "notices.gce", "base_url", notices.gce.base_url, check_http_url);
      r.whole_seconds(gce, "notices.gce", "wait_timeout", notices.gce.wait_timeout, std::chrono::seconds(1),
                      std::chrono::seconds(3600));
    }
    const YAML::Node azure = n["azure"];
    if (r.mapping(azure, "notices.azure", {"enabled", "base_url", "poll_interval", "acknowledge", "vm_name"})) {
      r.boolean(azure, "notices.azure", "enabled", notices.azure.enabled);
      r.string(azure, "notices.azure", "base_url", notices.azure.base_url, check_http_url);
      r.duration(azure, "notices.azure", "poll_interval", notices.azure.poll_interval, milliseconds(100),
                 milliseconds(300'000));
      r.boolean(azure, "notices.azure", "acknowledge", notices.azure.acknowledge);
      r.string(azure, "notices.azure", "vm_name", notices.azure.vm_name);
    }
  }
  // Where a notice's checkpoints go.
  std::vector<std::string> names;
  for (const auto& s : c.stores) names.push_back(s.name);
  if (!notices.store.empty()) {
    if (!c.find_store(notices.store)) {
      r.fail("notices.store", "names no configured store, got " + show(notices.store) +
                                  (names.empty() ? " (no stores are configured)" : " (configured: " + join(names) + ")"));
    }
  } else if (notices.any_enabled()) {
    if (c.stores.size() == 1) {
      notices.store = c.stores.front().name;
    } else if (c.stores.empty()) {
      r.fail("notices.store", "a notice watcher is enabled but no store is configured: add one under 'stores'");
    } else {
      r.fail("notices.store", "is required when several stores are configured and a notice watcher is enabled "
                              "(configured: " + join(names) + ")");
    }
  }
}

void read_operations(Reader& r, const YAML::Node& n, AgentConfig& c) {
  const std::string p = "operations";
  OperationsConfig& o = c.operations;
  if (!r.mapping(n, p, {"workers", "transfer_buffer", "shutdown_grace", "retention"})) return;
  r.integer(n, p, "workers", o.workers, 1, 64);
  r.byte_size(n, p, "transfer_buffer", o.transfer_buffer_bytes, 1ull << 20, 1ull << 30);
  r.duration(n, p, "shutdown_grace", o.shutdown_grace, milliseconds(0), milliseconds(600'000));
  r.duration(n, p, "retention", o.retention, milliseconds(3'600'000), milliseconds(90LL * 24 * 3'600'000));
  if (o.transfer_buffer_bytes > c.memory_budget_bytes) {
    r.fail(p + ".transfer_buffer", "must not exceed memory_budget (" + format_byte_size(c.memory_budget_bytes) +
                                       "), got " + format_byte_size(o.transfer_buffer_bytes));
  }
}

void read_metrics(Reader& r, const YAML::Node& n, MetricsConfig& m) {
  if (!r.mapping(n, "metrics", {"enabled", "address", "port"})) return;
  r.boolean(n, "metrics", "enabled", m.enabled);
  r.string(n, "metrics", "address", m.address, check_address);
  r.integer(n, "metrics", "port", m.port, 1, 65535);
}

void read_logging(Reader& r, const YAML::Node& n, LoggingConfig& l) {
  if (!r.mapping(n, "logging", {"format", "level"})) return;
  if (auto v = r.scalar(n, "logging", "format")) {
    if (*v == "text") l.format = log::Format::kText;
    else if (*v == "json") l.format = log::Format::kJsonLines;
    else r.fail("logging.format", "must be text or json, got " + show(*v));
  }
  if (auto v = r.scalar(n, "logging", "level")) {
    if (auto level = log::parse_level(*v)) l.level = *level;
    else r.fail("logging.level", "must be debug, info, warning or error, got " + show(*v));
  }
}

void read_kubernetes(Reader& r, const YAML::Node& n, KubernetesConfig& k) {
  const std::string p = "kubernetes";
  if (!r.mapping(n, p, {"in_cluster", "kubeconfig", "namespace", "lease_renew_interval", "lease_duration"})) return;
  bool in_cluster = false;
  r.boolean(n, p, "in_cluster", in_cluster);
  r.absolute_path(n, p, "kubeconfig", k.kubeconfig);
  if (in_cluster && !k.kubeconfig.empty()) {
    r.fail(p, "give either in_cluster: true or kubeconfig, not both");
  } else if (in_cluster) {
    k.mode = KubernetesConfig::Mode::kInCluster;
  } else if (!k.kubeconfig.empty()) {
    k.mode = KubernetesConfig::Mode::kKubeconfig;
  } else if (!n["kubeconfig"].IsDefined()) {
    r.fail(p, "says how to reach the API server: in_cluster: true (in a pod) or kubeconfig: /path "
              "(leave the kubernetes section out to run without registration)");
  }
  r.string(n, p, "namespace", k.namespace_name, [](const std::string& v) -> std::optional<std::string> {
    if (is_dns_label(v)) return std::nullopt;
    return "must be a namespace name (lowercase letters, digits and '-', at most 63)";
  });
  r.duration(n, p, "lease_renew_interval", k.lease_renew_interval, milliseconds(1000), milliseconds(60'000));
  r.duration(n, p, "lease_duration", k.lease_duration, milliseconds(2000), milliseconds(600'000));
  if (k.lease_duration < 2 * k.lease_renew_interval) {
    r.fail(p + ".lease_duration", "must be at least twice kubernetes.lease_renew_interval (" +
                                      format_duration(k.lease_renew_interval) + "), got " +
                                      format_duration(k.lease_duration));
  }
}

void read_dry_run(Reader& r, const YAML::Node& n, AgentConfig& c) {
  const std::string p = "dry_run";
  if (!n.IsDefined()) return;
  if (n.IsNull()) {
    r.fail(p, "has no value: give a mapping (dry_run: {} for the defaults), or leave it out on a real node");
    return;
  }
  DryRunConfig d;
  if (r.mapping(n, p, {"workspaces", "labels", "phase_duration", "workspace_memory"})) {
    r.integer(n, p, "workspaces", d.workspaces, 0, 10'000);
    r.duration(n, p, "phase_duration", d.phase_duration, milliseconds(0), milliseconds(600'000));
    r.byte_size(n, p, "workspace_memory", d.workspace_memory_bytes, 1ull << 20, 1ull << 40);
    const YAML::Node labels = n["labels"];
    if (!labels.IsDefined() || labels.IsNull()) {
      // none but the workspace label
    } else if (!labels.IsMap()) {
      r.fail(p + ".labels", "must be a mapping of label keys to values");
    } else {
      for (const auto& kv : labels) {
        const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
        const std::string k = p + ".labels." + key;
        if (auto problem = check_label_key(key)) r.fail(k, *problem + ", got " + show(key));
        else if (!kv.second.IsScalar()) r.fail(k, "must be a single value");
        else d.labels[key] = kv.second.Scalar();
      }
    }
  }
  if (d.labels.contains(c.workspace_label)) {
    r.fail(p + ".labels." + c.workspace_label, "is the workspace label: each made-up workspace has its own value");
  }
  c.dry_run = std::move(d);
}

}  // namespace

const StoreConfig* AgentConfig::find_store(std::string_view name) const {
  for (const auto& s : stores) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

Result<AgentConfig> parse_agent_config(std::string_view yaml, std::string_view source) {
  const std::string where = "config " + std::string(source);
  YAML::Node loaded;
  try {
    loaded = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Error(ErrorCode::kInvalidArgument, where + ": not valid YAML: " + e.what());
  }
  const YAML::Node& root = loaded;  // const: looking a key up never adds it
  Reader r;
  AgentConfig c;
  if (!r.mapping(root, "",
                 {"version", "node_name", "podman_socket", "journal_dir", "workspace_label", "memory_budget",
                  "settle_period", "operations", "api", "stores", "notices", "metrics", "logging", "kubernetes",
                  "dry_run"})) {
    if (!root.IsDefined() || root.IsNull()) r.fail("node_name", "is required (the file is empty)");
  } else {
    int version = 1;
    r.integer(root, "", "version", version, 1, 1);
    r.string(root, "", "node_name", c.node_name, [](const std::string& v) -> std::optional<std::string> {
      if (is_dns_subdomain(v)) return std::nullopt;
      return "must be the node's Kubernetes name (lowercase letters, digits, '-' and '.', at most 253)";
    });
    if (c.node_name.empty() && !root["node_name"].IsDefined()) {
      r.fail("node_name", "is required: this node's name (in a DaemonSet, from spec.nodeName)");
    }
    r.absolute_path(root, "", "podman_socket", c.podman_socket);
    r.absolute_path(root, "", "journal_dir", c.journal_dir);
    r.string(root, "", "workspace_label", c.workspace_label, check_label_key);
    r.byte_size(root, "", "memory_budget", c.memory_budget_bytes, 16ull << 20, 1ull << 40);
    r.duration(root, "", "settle_period", c.settle_period, milliseconds(0), milliseconds(600'000));
    read_operations(r, root["operations"], c);
    read_api(r, root["api"], c.api);
    read_stores(r, root["stores"], c.stores);
    read_notices(r, root["notices"], c);
    read_metrics(r, root["metrics"], c.metrics);
    read_logging(r, root["logging"], c.logging);
    read_kubernetes(r, root["kubernetes"], c.kubernetes);
    read_dry_run(r, root["dry_run"], c);
    if (c.metrics.enabled && c.metrics.port == c.api.port &&
        (c.metrics.address == c.api.address || c.metrics.address == "0.0.0.0" || c.api.address == "0.0.0.0")) {
      r.fail("metrics.port", "must differ from api.port (" + std::to_string(c.api.port) + "): both listen on it");
    }
  }
  if (!r.errors.empty()) {
    std::string message = where + ": " + std::to_string(r.errors.size()) +
                          (r.errors.size() == 1 ? " problem" : " problems") + " (see docs/agent-config.md)";
    for (const auto& e : r.errors) message += "\n  " + e;
    return Error(ErrorCode::kInvalidArgument, message);
  }
  return c;
}

Result<AgentConfig> load_agent_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kNotFound, "config " + path + ": cannot be read (does it exist?)");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error(ErrorCode::kUnavailable, "config " + path + ": read failed");
  return parse_agent_config(text.str(), path);
}

std::string StoreConfig::store_url() const {
  if (credentials_dir.empty() || url.rfind("s3://", 0) != 0) return url;
  // Encoded: a path with '&', '%' or '=' stays one option's value.
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "credentials_dir=" + http::url_encode(credentials_dir);
}

}  // namespace wscp::agent
