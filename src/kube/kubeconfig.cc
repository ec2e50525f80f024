#include "kube/kubeconfig.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "kube/base64.h"

namespace wscp::kube {
namespace {

namespace fs = std::filesystem;

// Reads one kubeconfig; every error names the file and the field.
class Reader {
 public:
  Reader(std::string origin, std::string base_dir) : origin_(std::move(origin)), base_dir_(std::move(base_dir)) {}

  Error bad(const std::string& field, const std::string& what) const {
    return Error(ErrorCode::kInvalidArgument, "kubeconfig " + origin_ + ": " + field + ": " + what);
  }

  // An entry of a named list ("clusters", "contexts", "users") and the path
  // of its inner map ("cluster", ...), e.g. `users[1] ("admin").user`.
  Result<YAML::Node> named(const YAML::Node& root, const char* list, const char* inner, const std::string& name,
                           std::string& path) const {
    const YAML::Node entries = root[list];
    if (entries && !entries.IsSequence()) return bad(list, "must be a list");
    std::string names;
    if (entries) {
      for (std::size_t i = 0; i < entries.size(); ++i) {
        const YAML::Node entry = entries[i];
        if (!entry.IsMap() || !entry["name"] || !entry["name"].IsScalar()) {
          return bad(std::string(list) + "[" + std::to_string(i) + "].name", "missing");
        }
        const std::string entry_name = entry["name"].Scalar();
        if (entry_name == name) {
          path = std::string(list) + "[" + std::to_string(i) + "] (\"" + name + "\")." + inner;
          const YAML::Node body = entry[inner];
          if (!body || !body.IsMap()) return bad(path, "missing or not a map");
          return body;
        }
        names += (names.empty() ? "" : ", ") + entry_name;
      }
    }
    return bad(list, "no entry named \"" + name + "\" (" + (names.empty() ? "the list is empty" : "it has: " + names) +
                         ")");
  }

  Result<std::string> string_field(const YAML::Node& map, const std::string& path, const char* key) const {
    const YAML::Node v = map[key];
    if (!v || v.IsNull()) return std::string();
    if (!v.IsScalar()) return bad(path + "." + key, "must be a string");
    return v.Scalar();
  }

  Result<bool> bool_field(const YAML::Node& map, const std::string& path, const char* key) const {
    auto s = string_field(map, path, key);
    if (!s) return s.error();
    if (s->empty() || *s == "false") return false;
    if (*s == "true") return true;
    return bad(path + "." + key, "must be true or false, not \"" + *s + "\"");
  }

  // A "-data" field: base64 of PEM text.
  Result<std::string> pem_data(const YAML::Node& map, const std::string& path, const char* key) const {
    auto s = string_field(map, path, key);
    if (!s || s->empty()) return s;
    auto decoded = base64_decode(*s);
    if (!decoded) return bad(path + "." + key, decoded.error().message());
    if (decoded->find("-----BEGIN ") == std::string::npos) {
      return bad(path + "." + key, "the decoded data is not PEM (no \"-----BEGIN\" line)");
    }
    return decoded;
  }

  // A file field: resolved against the kubeconfig's directory, and readable.
  Result<std::string> file_field(const YAML::Node& map, const std::string& path, const char* key) const {
    auto s = string_field(map, path, key);
    if (!s || s->empty()) return s;
    fs::path p(*s);
    if (p.is_relative() && !base_dir_.empty()) p = fs::path(base_dir_) / p;
    std::ifstream in(p);
    if (!in) return bad(path + "." + key, p.string() + ": cannot be read (missing or no permission)");
    return p.string();
  }

  const std::string& origin() const { return origin_; }

 private:
  std::string origin_;
  std::string base_dir_;
};

Status read_cluster(const Reader& r, const YAML::Node& cluster, const std::string& path, KubeConfig& out) {
  auto server = r.string_field(cluster, path, "server");
  if (!server) return server.error();
  if (server->empty()) return r.bad(path + ".server", "missing");
  if (!server->starts_with("https://") && !server->starts_with("http://")) {
    return r.bad(path + ".server", "\"" + *server + "\" is not an http(s) URL");
  }
  while (server->ends_with("/")) server->pop_back();
  out.server = *server;
  for (const char* unsupported : {"proxy-url", "tls-server-name"}) {
    auto v = r.string_field(cluster, path, unsupported);
    if (!v) return v.error();
    if (!v->empty()) return r.bad(path + "." + unsupported, "is not supported by this client; remove it");
  }
  auto ca_data = r.pem_data(cluster, path, "certificate-authority-data");
  if (!ca_data) return ca_data.error();
  out.ca_pem = *ca_data;
  if (out.ca_pem.empty()) {
    auto ca_file = r.file_field(cluster, path, "certificate-authority");
    if (!ca_file) return ca_file.error();
    out.ca_file = *ca_file;
  }
  auto insecure = r.bool_field(cluster, path, "insecure-skip-tls-verify");
  if (!insecure) return insecure.error();
  out.insecure_skip_tls_verify = *insecure;
  return Ok{};
}

Status read_user(const Reader& r, const YAML::Node& user, const std::string& path, KubeConfig& out) {
  auto cert = r.pem_data(user, path, "client-certificate-data");
  auto key = r.pem_data(user, path, "client-key-data");
  if (!cert) return cert.error();
  if (!key) return key.error();
  out.client_cert_pem = *cert;
  out.client_key_pem = *key;
  if (out.client_cert_pem.empty()) {
    auto f = r.file_field(user, path, "client-certificate");
    if (!f) return f.error();
    out.client_cert_file = *f;
  }
  if (out.client_key_pem.empty()) {
    auto f = r.file_field(user, path, "client-key");
    if (!f) return f.error();
    out.client_key_file = *f;
  }
  const bool has_cert = !out.client_cert_pem.empty() || !out.client_cert_file.empty();
  const bool has_key = !out.client_key_pem.empty() || !out.client_key_file.empty();
  if (has_cert != has_key) {
    return r.bad(path, has_cert ? "has a client certificate but no client-key(-data)"
                                : "has a client key but no client-certificate(-data)");
  }
  auto token = r.string_field(user, path, "token");
  if (!token) return token.error();
  out.token = *token;
  if (out.token.empty()) {
    auto f = r.file_field(user, path, "tokenFile");
    if (!f) return f.error();
    out.token_file = *f;
  }
  const bool has_credentials = has_cert || !out.token.empty() || !out.token_file.empty();
  if (!has_credentials) {
    for (const char* plugin : {"exec", "auth-provider", "username"}) {
      if (user[plugin]) {
        return r.bad(path + "." + plugin,
                     "is not supported by this client; use client-certificate/client-key, token or tokenFile");
      }
    }
  }
  return Ok{};
}

}  // namespace

Result<KubeConfig> parse_kubeconfig(std::string_view yaml, const std::string& origin, const std::string& base_dir,
                                    std::string_view context) {
  Reader r(origin, base_dir);
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap()) return r.bad("(top level)", "not a kubeconfig (expected a map with clusters, contexts, users)");
    std::string context_name(context);
    if (context_name.empty()) {
      auto current = r.string_field(root, "", "current-context");
      if (!current) return current.error();
      if (current->empty()) {
        return r.bad("current-context", "not set and no context was asked for; set it or name a context");
      }
      context_name = *current;
    }
    std::string context_path;
    auto ctx = r.named(root, "contexts", "context", context_name, context_path);
    if (!ctx) return ctx.error();
    auto cluster_name = r.string_field(*ctx, context_path, "cluster");
    auto user_name = r.string_field(*ctx, context_path, "user");
    auto ns = r.string_field(*ctx, context_path, "namespace");
    if (!cluster_name) return cluster_name.error();
    if (!user_name) return user_name.error();
    if (!ns) return ns.error();
    if (cluster_name->empty()) return r.bad(context_path + ".cluster", "missing");

    KubeConfig out;
    out.origin = "kubeconfig " + origin + " (context \"" + context_name + "\")";
    if (!ns->empty()) out.default_namespace = *ns;

    std::string cluster_path;
    auto cluster = r.named(root, "clusters", "cluster", *cluster_name, cluster_path);
    if (!cluster) return cluster.error();
    if (Status s = read_cluster(r, *cluster, cluster_path, out); !s) return s.error();

    if (!user_name->empty()) {
      std::string user_path;
      auto user = r.named(root, "users", "user", *user_name, user_path);
      if (!user) return user.error();
      if (Status s = read_user(r, *user, user_path, out); !s) return s.error();
    }
    return out;
  } catch (const YAML::Exception& e) {
    return Error(ErrorCode::kInvalidArgument, "kubeconfig " + origin + ": not valid YAML: " + e.what());
  }
}

Result<KubeConfig> load_kubeconfig(const std::string& path, std::string_view context) {
  std::ifstream in(path);
  if (!in) {
    return Error(ErrorCode::kNotFound, "kubeconfig " + path + ": cannot be read (missing or no permission)");
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_kubeconfig(text.str(), path, fs::path(path).parent_path().string(), context);
}

}  // namespace wscp::kube
