#include "kube/kubeconfig.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <vector>

#include "kube/base64.h"
#include "kube/config.h"
#include "kube/in_cluster.h"
#include "temp_dir.h"

using namespace wscp;
using namespace wscp::kube;
using wscp::kube::testing::TempDir;

namespace {

const std::string kCa = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
const std::string kCert = "-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n";
const std::string kKey = "-----BEGIN EC PRIVATE KEY-----\nKEY\n-----END EC PRIVATE KEY-----\n";

std::string kubeconfig(const std::string& cluster_extra, const std::string& user_body,
                       const std::string& current = "admin") {
  return "apiVersion: v1\nkind: Config\ncurrent-context: " + current +
         "\n"
         "clusters:\n"
         "- name: other\n  cluster:\n    server: https://10.0.0.1:6443\n"
         "- name: test\n  cluster:\n    server: https://127.0.0.1:6443/\n" +
         cluster_extra +
         "contexts:\n"
         "- name: admin\n  context:\n    cluster: test\n    user: admin\n    namespace: team-a\n"
         "- name: bare\n  context:\n    cluster: other\n    user: nobody\n"
         "users:\n"
         "- name: nobody\n  user: {}\n"
         "- name: admin\n  user:\n" +
         user_body;
}

const std::string kCertUser = "    client-certificate-data: " + base64_encode(kCert) +
                              "\n    client-key-data: " + base64_encode(kKey) + "\n";

}  // namespace

TEST_CASE("kubeconfig: current context with inline CA, client certificate and key") {
  auto c = parse_kubeconfig(kubeconfig("    certificate-authority-data: " + base64_encode(kCa) + "\n", kCertUser),
                            "/x/config", "/x");
  REQUIRE_MESSAGE(c.ok(), c.error().describe());
  CHECK(c->server == "https://127.0.0.1:6443");
  CHECK(c->ca_pem == kCa);
  CHECK(c->client_cert_pem == kCert);
  CHECK(c->client_key_pem == kKey);
  CHECK(c->default_namespace == "team-a");
  CHECK_FALSE(c->insecure_skip_tls_verify);
  CHECK(c->origin.find("/x/config") != std::string::npos);
  CHECK(c->origin.find("admin") != std::string::npos);
}

TEST_CASE("kubeconfig: a named context overrides current-context") {
  auto c = parse_kubeconfig(kubeconfig("", kCertUser), "cfg", "", "bare");
  REQUIRE_MESSAGE(c.ok(), c.error().describe());
  CHECK(c->server == "https://10.0.0.1:6443");
  CHECK(c->default_namespace == "default");
  CHECK(c->client_cert_pem.empty());
  CHECK(c->token.empty());
}

TEST_CASE("kubeconfig: files are resolved against the kubeconfig's directory; token and tokenFile") {
  TempDir dir;
  dir.write("ca.crt", kCa);
  dir.write("token", "abc\n");
  const std::string text = kubeconfig("    certificate-authority: ca.crt\n    insecure-skip-tls-verify: true\n",
                                      "    tokenFile: token\n");
  const std::string path = dir.write("config", text);
  auto c = load_kubeconfig(path);
  REQUIRE_MESSAGE(c.ok(), c.error().describe());
  CHECK(c->ca_file == dir.file("ca.crt"));
  CHECK(c->ca_pem.empty());
  CHECK(c->insecure_skip_tls_verify);
  CHECK(c->token_file == dir.file("token"));

  auto t = parse_kubeconfig(kubeconfig("", "    token: s3cr3t\n    tokenFile: /nonexistent\n"), "cfg", "");
  REQUIRE_MESSAGE(t.ok(), t.error().describe());
  CHECK(t->token == "s3cr3t");
  CHECK(t->token_file.empty());
}

TEST_CASE("kubeconfig: client certificate and key from files") {
  TempDir dir;
  dir.write("c.crt", kCert);
  dir.write("c.key", kKey);
  auto c = parse_kubeconfig(kubeconfig("", "    client-certificate: c.crt\n    client-key: " + dir.file("c.key") + "\n"),
                            "cfg", dir.path());
  REQUIRE_MESSAGE(c.ok(), c.error().describe());
  CHECK(c->client_cert_file == dir.file("c.crt"));
  CHECK(c->client_key_file == dir.file("c.key"));
}

TEST_CASE("kubeconfig: bad inputs name the file and the field") {
  struct Case {
    const char* name;
    std::string text;
    std::string context;
    std::vector<std::string> expected;  // all in the message
  };
  const Case cases[] = {
      {"not YAML", "clusters: [", "", {"kubeconfig cfg", "not valid YAML"}},
      {"not a map", "- a\n- b\n", "", {"not a kubeconfig"}},
      {"no current context", "clusters: []\n", "", {"current-context", "not set"}},
      {"unknown context", kubeconfig("", kCertUser), "nope", {"contexts", "\"nope\"", "admin, bare"}},
      {"context without cluster", "current-context: c\ncontexts:\n- name: c\n  context:\n    user: u\n", "",
       {"contexts[0] (\"c\").context.cluster", "missing"}},
      {"cluster missing", "current-context: c\ncontexts:\n- name: c\n  context:\n    cluster: gone\n", "",
       {"clusters", "\"gone\"", "empty"}},
      {"server missing",
       "current-context: c\ncontexts:\n- name: c\n  context:\n    cluster: k\nclusters:\n- name: k\n  cluster: {}\n",
       "",
       {"clusters[0] (\"k\").cluster", "missing"}},
      {"server not a URL",
       "current-context: c\ncontexts:\n- name: c\n  context:\n    cluster: k\nclusters:\n- name: k\n  cluster:\n"
       "    server: 127.0.0.1:6443\n",
       "",
       {"clusters[0] (\"k\").cluster.server", "not an http(s) URL"}},
      {"CA data not base64", kubeconfig("    certificate-authority-data: '%%%'\n", kCertUser), "",
       {"clusters[1] (\"test\").cluster.certificate-authority-data", "not valid base64"}},
      {"CA data not PEM", kubeconfig("    certificate-authority-data: " + base64_encode("hello") + "\n", kCertUser),
       "",
       {"certificate-authority-data", "not PEM"}},
      {"CA file missing", kubeconfig("    certificate-authority: /no/such/ca.crt\n", kCertUser), "",
       {"certificate-authority", "/no/such/ca.crt", "cannot be read"}},
      {"insecure not a bool", kubeconfig("    insecure-skip-tls-verify: maybe\n", kCertUser), "",
       {"insecure-skip-tls-verify", "true or false"}},
      {"proxy-url", kubeconfig("    proxy-url: http://proxy:3128\n", kCertUser), "", {"proxy-url", "not supported"}},
      {"key data not base64", kubeconfig("", "    client-certificate-data: " + base64_encode(kCert) +
                                                 "\n    client-key-data: 'x!'\n"),
       "",
       {"users[1] (\"admin\").user.client-key-data", "not valid base64"}},
      {"certificate without key", kubeconfig("", "    client-certificate-data: " + base64_encode(kCert) + "\n"), "",
       {"users[1] (\"admin\").user", "no client-key"}},
      {"key without certificate", kubeconfig("", "    client-key-data: " + base64_encode(kKey) + "\n"), "",
       {"no client-certificate"}},
      {"token file missing", kubeconfig("", "    tokenFile: /no/such/token\n"), "", {"tokenFile", "/no/such/token"}},
      {"exec plugin", kubeconfig("", "    exec:\n      command: aws\n"), "", {"user.exec", "not supported"}},
      {"token not a string", kubeconfig("", "    token: [1, 2]\n"), "", {"user.token", "must be a string"}},
      {"unknown user",
       "current-context: c\ncontexts:\n- name: c\n  context:\n    cluster: k\n    user: ghost\nclusters:\n- name: k\n"
       "  cluster:\n    server: https://h\nusers: []\n",
       "",
       {"users", "\"ghost\""}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto r = parse_kubeconfig(c.text, "cfg", "", c.context);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::kInvalidArgument);
    for (const auto& e : c.expected) {
      CAPTURE(e);
      CHECK_MESSAGE(r.error().message().find(e) != std::string::npos, r.error().message());
    }
  }
}

TEST_CASE("kubeconfig: a missing file is named") {
  auto r = load_kubeconfig("/no/such/kubeconfig");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message().find("/no/such/kubeconfig") != std::string::npos);
}

TEST_CASE("in-cluster: token, CA and namespace from the service account directory") {
  TempDir dir;
  dir.write("token", "tok\n");
  dir.write("ca.crt", kCa);
  dir.write("namespace", "wscp-system\n");
  auto c = in_cluster_config("10.96.0.1", "443", dir.path());
  REQUIRE_MESSAGE(c.ok(), c.error().describe());
  CHECK(c->server == "https://10.96.0.1:443");
  CHECK(c->token_file == dir.file("token"));
  CHECK(c->ca_file == dir.file("ca.crt"));
  CHECK(c->default_namespace == "wscp-system");

  auto v6 = in_cluster_config("fd00::1", "6443", dir.path());
  REQUIRE(v6.ok());
  CHECK(v6->server == "https://[fd00::1]:6443");
}

TEST_CASE("in-cluster: what is missing is named") {
  TempDir dir;
  auto no_env = in_cluster_config("", "443", dir.path());
  REQUIRE_FALSE(no_env.ok());
  CHECK(no_env.error().message().find("KUBERNETES_SERVICE_HOST") != std::string::npos);

  auto bad_port = in_cluster_config("h", "https", dir.path());
  REQUIRE_FALSE(bad_port.ok());
  CHECK(bad_port.error().message().find("\"https\" is not a port") != std::string::npos);

  auto no_token = in_cluster_config("h", "443", dir.path());
  REQUIRE_FALSE(no_token.ok());
  CHECK(no_token.error().message().find(dir.file("token")) != std::string::npos);

  dir.write("token", "tok");
  auto no_ca = in_cluster_config("h", "443", dir.path());
  REQUIRE_FALSE(no_ca.ok());
  CHECK(no_ca.error().message().find(dir.file("ca.crt")) != std::string::npos);
}

TEST_CASE("load_config: explicit kubeconfig, then $KUBECONFIG, then in-cluster, then ~/.kube/config") {
  TempDir dir;
  dir.write("token", "tok");
  dir.write("ca.crt", kCa);
  const std::string explicit_path = dir.write("explicit", kubeconfig("", kCertUser));
  const std::string env_path = dir.write("env", kubeconfig("", kCertUser, "bare"));
  std::filesystem::create_directories(dir.file("home/.kube"));
  dir.write("home/.kube/config", kubeconfig("", kCertUser, "bare"));

  ConfigSources s;
  s.service_account_dir = dir.path();
  s.kubeconfig = explicit_path;
  s.kubeconfig_env = env_path + ":/other";
  s.service_host = "10.96.0.1";
  s.service_port = "443";
  s.home = dir.file("home");
  CHECK(load_config(s)->origin.find(explicit_path) != std::string::npos);
  s.kubeconfig.clear();
  CHECK(load_config(s)->origin.find(env_path) != std::string::npos);
  s.kubeconfig_env.clear();
  CHECK(load_config(s)->server == "https://10.96.0.1:443");
  s.service_host.clear();
  CHECK(load_config(s)->origin.find("home/.kube/config") != std::string::npos);
  s.home = dir.file("nohome");
  auto none = load_config(s);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message().find("no Kubernetes configuration") != std::string::npos);
}
