#include "agent/config/agent_config.h"
#include "store/store_url.h"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "testing/temp_dir.h"

using namespace wscp;
using namespace wscp::agent;
using std::chrono::milliseconds;

namespace {

constexpr const char* kMinimal = R"(
node_name: node-1
api:
  tls:
    client_ca: /etc/wscp/client-ca.pem
)";

// The message of a refused configuration (fails the test if it was accepted).
std::string refusal(const std::string& yaml) {
  auto c = parse_agent_config(yaml, "test.yaml");
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().code() == ErrorCode::kInvalidArgument);
  return c.error().message();
}

bool mentions(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("a minimal configuration takes every default") {
  auto c = parse_agent_config(kMinimal, "test.yaml");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message()));
  CHECK(c->node_name == "node-1");
  CHECK(c->podman_socket == "/run/podman/podman.sock");
  CHECK(c->journal_dir == "/var/lib/wscp/journal");
  CHECK(c->workspace_label == "dev.containers.id");
  CHECK(c->memory_budget_bytes == 1ull << 30);
  CHECK(c->settle_period == milliseconds(5000));
  CHECK(c->operations.workers == 4);
  CHECK(c->operations.transfer_buffer_bytes == 64ull << 20);
  CHECK(c->operations.shutdown_grace == milliseconds(30'000));
  CHECK(c->operations.retention == std::chrono::hours(168));
  CHECK(c->api.address == "0.0.0.0");
  CHECK(c->api.port == 9443);
  CHECK(c->api.max_body_bytes == 1ull << 20);
  CHECK(c->api.tls.client_ca == "/etc/wscp/client-ca.pem");
  CHECK(c->api.tls.key == "/var/lib/wscp/tls/serving.key");
  CHECK(c->stores.empty());
  CHECK_FALSE(c->notices.any_enabled());
  CHECK(c->notices.aws.poll_interval == milliseconds(5000));
  CHECK(c->notices.gce.wait_timeout == std::chrono::seconds(60));
  CHECK(c->metrics.enabled);
  CHECK(c->metrics.port == 9464);
  CHECK(c->logging.format == log::Format::kText);
  CHECK(c->logging.level == log::Level::kInfo);
  CHECK(c->kubernetes.mode == KubernetesConfig::Mode::kDisabled);
  CHECK_FALSE(c->dry_run.has_value());
}

TEST_CASE("a dry run is configured by its section alone") {
  auto empty = parse_agent_config(std::string(kMinimal) + "dry_run: {}\n", "test.yaml");
  REQUIRE_MESSAGE(empty.ok(), (empty.ok() ? "" : empty.error().message()));
  REQUIRE(empty->dry_run.has_value());
  CHECK(empty->dry_run->workspaces == 100);
  CHECK(empty->dry_run->phase_duration == milliseconds(0));
  auto full = parse_agent_config(std::string(kMinimal) +
                                     "dry_run: {workspaces: 500, phase_duration: 50ms, workspace_memory: 1GiB, "
                                     "labels: {wscp.dev/namespace: bench}}\n",
                                 "test.yaml");
  REQUIRE_MESSAGE(full.ok(), (full.ok() ? "" : full.error().message()));
  CHECK(full->dry_run->workspaces == 500);
  CHECK(full->dry_run->phase_duration == milliseconds(50));
  CHECK(full->dry_run->workspace_memory_bytes == 1ull << 30);
  CHECK(full->dry_run->labels == std::map<std::string, std::string>{{"wscp.dev/namespace", "bench"}});
}

TEST_CASE("a full configuration is read key by key") {
  auto c = parse_agent_config(R"(
version: 1
node_name: worker-7.example
podman_socket: /host/run/podman/podman.sock
journal_dir: /var/lib/wscp/j
workspace_label: example.com/workspace
memory_budget: 768MiB
settle_period: 1m30s
operations: {workers: 8, transfer_buffer: 32MiB, shutdown_grace: 45s, retention: 48h}
api:
  address: 10.0.0.7
  port: 8443
  max_body_size: 64KiB
  tls:
    client_ca: /etc/wscp/ca.pem
    allowed_subjects: [wscp-controller, wscp-admin]
    key: /var/lib/wscp/k.pem
    cert: /var/lib/wscp/c.pem
    signing_ca: {cert: /etc/wscp/sign.pem, key: /etc/wscp/sign.key}
    serving_names: [worker-7.example, 10.0.0.7]
stores:
  main:
    url: s3://bucket/prefix?endpoint=https://minio:9000
    credentials_dir: /etc/wscp/s3
    keyring: /etc/wscp/keyring
    compression_level: 9
  local:
    url: /var/lib/wscp/store
notices:
  store: main
  aws: {enabled: true, base_url: "http://127.0.0.1:8080", poll_interval: 2s, token_ttl: 10m}
  gce: {enabled: true, wait_timeout: 30s}
  azure: {enabled: true, poll_interval: 500ms, acknowledge: true, vm_name: vm-7}
metrics: {enabled: true, address: 127.0.0.1, port: 9100}
logging: {format: json, level: debug}
kubernetes:
  kubeconfig: /etc/wscp/kubeconfig
  namespace: wscp
  lease_renew_interval: 2s
  lease_duration: 10s
)", "full.yaml");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message()));
  CHECK(c->node_name == "worker-7.example");
  CHECK(c->podman_socket == "/host/run/podman/podman.sock");
  CHECK(c->workspace_label == "example.com/workspace");
  CHECK(c->memory_budget_bytes == 768ull << 20);
  CHECK(c->settle_period == milliseconds(90'000));
  CHECK(c->operations.workers == 8);
  CHECK(c->operations.transfer_buffer_bytes == 32ull << 20);
  CHECK(c->operations.shutdown_grace == milliseconds(45'000));
  CHECK(c->operations.retention == std::chrono::hours(48));
  CHECK(c->api.address == "10.0.0.7");
  CHECK(c->api.port == 8443);
  CHECK(c->api.max_body_bytes == 64u * 1024);
  CHECK(c->api.tls.allowed_subjects == std::vector<std::string>{"wscp-controller", "wscp-admin"});
  CHECK(c->api.tls.signing_ca_cert == "/etc/wscp/sign.pem");
  CHECK(c->api.tls.signing_ca_key == "/etc/wscp/sign.key");
  CHECK(c->api.tls.serving_names == std::vector<std::string>{"worker-7.example", "10.0.0.7"});
  REQUIRE(c->stores.size() == 2);
  CHECK(c->find_store("main")->compression_level == 9);
  CHECK(c->find_store("main")->credentials_dir == "/etc/wscp/s3");
  CHECK(c->find_store("local")->url == "/var/lib/wscp/store");
  CHECK(c->find_store("local")->compression_level == 3);
  CHECK(c->notices.store == "main");
  CHECK(c->notices.aws.enabled);
  CHECK(c->notices.aws.base_url == "http://127.0.0.1:8080");
  CHECK(c->notices.aws.poll_interval == milliseconds(2000));
  CHECK(c->notices.aws.token_ttl == std::chrono::seconds(600));
  CHECK(c->notices.gce.wait_timeout == std::chrono::seconds(30));
  CHECK(c->notices.azure.acknowledge);
  CHECK(c->notices.azure.vm_name == "vm-7");
  CHECK(c->notices.azure.poll_interval == milliseconds(500));
  CHECK(c->metrics.address == "127.0.0.1");
  CHECK(c->metrics.port == 9100);
  CHECK(c->logging.format == log::Format::kJsonLines);
  CHECK(c->logging.level == log::Level::kDebug);
  CHECK(c->kubernetes.mode == KubernetesConfig::Mode::kKubeconfig);
  CHECK(c->kubernetes.kubeconfig == "/etc/wscp/kubeconfig");
  CHECK(c->kubernetes.namespace_name == "wscp");
  CHECK(c->kubernetes.lease_renew_interval == milliseconds(2000));
}

TEST_CASE("one store is the notices' store without naming it") {
  auto c = parse_agent_config(std::string(kMinimal) + R"(
stores: {main: {url: "file:///var/lib/wscp/store"}}
notices: {aws: {enabled: true}}
)", "t");
  REQUIRE(c.ok());
  CHECK(c->notices.store == "main");
}

TEST_CASE("in-cluster registration") {
  auto c = parse_agent_config(std::string(kMinimal) + "kubernetes: {in_cluster: true}\n", "t");
  REQUIRE(c.ok());
  CHECK(c->kubernetes.mode == KubernetesConfig::Mode::kInCluster);
}

// Each refused configuration: the fragment, and what the message must say.
struct Case {
  const char* yaml;
  std::vector<const char*> says;
};

TEST_CASE("every invalid value is refused with the key, what was found and what is allowed") {
  const std::string base_tls = "api: {tls: {client_ca: /ca.pem}}\n";
  const std::vector<Case> cases = {
      {"node_name: node-1\napi: {}\n", {"key 'api.tls.client_ca'", "is required"}},
      {"api: {tls: {client_ca: /ca.pem}}\n", {"key 'node_name'", "is required"}},
      {"node_name: Node_1\n", {"key 'node_name'", "Kubernetes name", "\"Node_1\""}},
      {"node_name: n\nnode_nme: x\n", {"key 'node_nme'", "unknown key", "allowed here:", "node_name"}},
      {"node_name: n\npodman_socket: run/podman.sock\n", {"key 'podman_socket'", "absolute path"}},
      {"node_name: n\njournal_dir: ''\n", {"key 'journal_dir'", "must not be empty"}},
      {"node_name: n\nworkspace_label: 'has space'\n", {"key 'workspace_label'", "label key"}},
      {"node_name: n\nmemory_budget: 1GB\n", {"key 'memory_budget'", "KiB, MiB, GiB", "\"1GB\""}},
      {"node_name: n\nmemory_budget: 1MiB\n", {"key 'memory_budget'", "from 16MiB to 1TiB"}},
      {"node_name: n\nsettle_period: 5\n", {"key 'settle_period'", "with a unit", "\"5\""}},
      {"node_name: n\nsettle_period: 11m\n", {"key 'settle_period'", "from 0s to 10m"}},
      {"node_name: n\nsettle_period:\n", {"key 'settle_period'", "has no value"}},
      {"node_name: n\nsettle_period: [1s]\n", {"key 'settle_period'", "single value"}},
      {"node_name: n\noperations: {workers: 0}\n", {"key 'operations.workers'", "from 1 to 64", "\"0\""}},
      {"node_name: n\noperations: {workers: 65}\n", {"key 'operations.workers'", "from 1 to 64"}},
      {"node_name: n\noperations: {transfer_buffer: 512KiB}\n", {"key 'operations.transfer_buffer'", "from 1MiB to 1GiB"}},
      {"node_name: n\nmemory_budget: 32MiB\noperations: {transfer_buffer: 64MiB}\n", {"key 'operations.transfer_buffer'", "must not exceed memory_budget", "32MiB"}},
      {"node_name: n\noperations: {shutdown_grace: 30}\n", {"key 'operations.shutdown_grace'", "with a unit"}},
      {"node_name: n\noperations: {shutdown_grace: 11m}\n", {"key 'operations.shutdown_grace'", "from 0s to 10m"}},
      {"node_name: n\noperations: {threads: 2}\n", {"key 'operations.threads'", "unknown key", "workers"}},
      {"node_name: n\napi: {port: 70000, tls: {client_ca: /ca.pem}}\n", {"key 'api.port'", "from 1 to 65535", "\"70000\""}},
      {"node_name: n\napi: {port: abc, tls: {client_ca: /ca.pem}}\n", {"key 'api.port'", "integer"}},
      {"node_name: n\napi: {address: 'not an address', tls: {client_ca: /ca.pem}}\n", {"key 'api.address'", "IP address or a host name"}},
      {"node_name: n\napi: {max_body_size: 100GiB, tls: {client_ca: /ca.pem}}\n", {"key 'api.max_body_size'", "from 1KiB to 64MiB"}},
      {"node_name: n\napi: {tls: {client_ca: ca.pem}}\n", {"key 'api.tls.client_ca'", "absolute path"}},
      {"node_name: n\napi: {tls: {}}\n", {"key 'api.tls.client_ca'", "is required"}},
      {"node_name: n\napi: {tls: {client_ca: /ca.pem, allowed_subjects: wscp-controller}}\n", {"key 'api.tls.allowed_subjects'", "must be a list"}},
      {"node_name: n\napi: {tls: {client_ca: /ca.pem, allowed_subjects: ['']}}\n", {"key 'api.tls.allowed_subjects[0]'", "non-empty"}},
      {"node_name: n\napi: {tls: {client_ca: /ca.pem, signing_ca: {cert: /c.pem}}}\n", {"key 'api.tls.signing_ca'", "both cert and key"}},
      {"node_name: n\napi: {tls: {client_ca: /ca.pem, serving_names: ['bad name']}}\n", {"key 'api.tls.serving_names[0]'", "IP address or a host name"}},
      {"node_name: n\napi: {tls: {client_ca: /ca.pem, cipher: x}}\n", {"key 'api.tls.cipher'", "unknown key"}},
      {"node_name: n\nstores: [a]\n", {"key 'stores'", "mapping of store names"}},
      {"node_name: n\nstores: {Main: {url: /s}}\n", {"key 'stores.Main'", "store names"}},
      {"node_name: n\nstores: {main: {}}\n", {"key 'stores.main.url'", "is required"}},
      {"node_name: n\nstores: {main: {url: 'http://x/y'}}\n", {"key 'stores.main.url'", "s3://bucket", "\"http://x/y\""}},
      {"node_name: n\nstores: {main: {url: /s, compression_level: 20}}\n", {"key 'stores.main.compression_level'", "from 0 to 19"}},
      {"node_name: n\nstores: {main: {url: /s, keyring: keys}}\n", {"key 'stores.main.keyring'", "absolute path"}},
      {"node_name: n\nnotices: {aws: {enabled: yes}}\n", {"key 'notices.aws.enabled'", "true or false", "\"yes\""}},
      {"node_name: n\nnotices: {aws: {enabled: true}}\n", {"key 'notices.store'", "no store is configured"}},
      {"node_name: n\nstores: {a: {url: /a}, b: {url: /b}}\nnotices: {gce: {enabled: true}}\n", {"key 'notices.store'", "several stores", "a, b"}},
      {"node_name: n\nstores: {a: {url: /a}}\nnotices: {store: b}\n", {"key 'notices.store'", "no configured store", "\"b\"", "configured: a"}},
      {"node_name: n\nnotices: {aws: {base_url: '169.254.169.254'}}\n", {"key 'notices.aws.base_url'", "http:// or https://"}},
      {"node_name: n\nnotices: {aws: {poll_interval: 50ms}}\n", {"key 'notices.aws.poll_interval'", "from 100ms to 5m"}},
      {"node_name: n\nnotices: {aws: {token_ttl: 7h}}\n", {"key 'notices.aws.token_ttl'", "from 1s to 6h"}},
      {"node_name: n\nnotices: {aws: {token_ttl: 1500ms}}\n", {"key 'notices.aws.token_ttl'", "whole seconds"}},
      {"node_name: n\nnotices: {gce: {wait_timeout: 0s}}\n", {"key 'notices.gce.wait_timeout'", "from 1s to 1h"}},
      {"node_name: n\nnotices: {azure: {acknowledge: 1}}\n", {"key 'notices.azure.acknowledge'", "true or false"}},
      {"node_name: n\nnotices: {ibm: {enabled: true}}\n", {"key 'notices.ibm'", "unknown key", "aws, gce, azure"}},
      {"node_name: n\nmetrics: {port: 0}\n", {"key 'metrics.port'", "from 1 to 65535"}},
      {"node_name: n\nmetrics: {port: 9443}\n", {"key 'metrics.port'", "must differ from api.port"}},
      {"node_name: n\nlogging: {format: xml}\n", {"key 'logging.format'", "text or json", "\"xml\""}},
      {"node_name: n\nlogging: {level: loud}\n", {"key 'logging.level'", "debug, info, warning or error"}},
      {"node_name: n\nkubernetes: {}\n", {"key 'kubernetes'", "in_cluster: true", "kubeconfig"}},
      {"node_name: n\nkubernetes: {namespace: x}\n", {"key 'kubernetes'", "in_cluster: true"}},
      {"node_name: n\nkubernetes: {in_cluster: true, kubeconfig: /k}\n", {"key 'kubernetes'", "not both"}},
      {"node_name: n\nkubernetes: {kubeconfig: k}\n", {"key 'kubernetes.kubeconfig'", "absolute path"}},
      {"node_name: n\nkubernetes: {in_cluster: true, namespace: Wscp}\n", {"key 'kubernetes.namespace'", "namespace name"}},
      {"node_name: n\nkubernetes: {in_cluster: true, lease_renew_interval: 90s}\n", {"key 'kubernetes.lease_renew_interval'", "from 1s to 1m"}},
      {"node_name: n\nkubernetes: {in_cluster: true, lease_renew_interval: 10s, lease_duration: 15s}\n", {"key 'kubernetes.lease_duration'", "at least twice"}},
      {"node_name: n\nversion: 2\n", {"key 'version'", "from 1 to 1"}},
      {"node_name: n\ndry_run: {workspaces: 10001}\n", {"key 'dry_run.workspaces'", "from 0 to 10000"}},
      {"node_name: n\ndry_run: {phase_duration: 5}\n", {"key 'dry_run.phase_duration'", "with a unit"}},
      {"node_name: n\ndry_run: {labels: [a]}\n", {"key 'dry_run.labels'", "mapping of label keys"}},
      {"node_name: n\ndry_run: {labels: {'a b': x}}\n", {"key 'dry_run.labels.a b'", "label key"}},
      {"node_name: n\ndry_run: {labels: {dev.containers.id: x}}\n", {"key 'dry_run.labels.dev.containers.id'", "is the workspace label"}},
      {"node_name: n\ndry_run:\n", {"key 'dry_run'", "has no value"}},
      {"node_name: n\ndry_run: {podman: x}\n", {"key 'dry_run.podman'", "unknown key", "phase_duration"}},
  };
  for (const auto& c : cases) {
    std::string yaml = c.yaml;
    if (!mentions(yaml, "api:")) yaml += base_tls;
    CAPTURE(yaml);
    const std::string message = refusal(yaml);
    CAPTURE(message);
    CHECK(mentions(message, "config test.yaml"));
    CHECK(mentions(message, "docs/agent-config.md"));
    for (const char* part : c.says) CHECK(mentions(message, part));
  }
}

TEST_CASE("every problem of a file is reported at once, one per line") {
  const std::string m = refusal("node_name: BAD\napi: {port: 0, tls: {}}\nlogging: {format: xml}\n");
  CHECK(mentions(m, "4 problems"));
  CHECK(mentions(m, "\n  key 'node_name'"));
  CHECK(mentions(m, "\n  key 'api.port'"));
  CHECK(mentions(m, "\n  key 'api.tls.client_ca'"));
  CHECK(mentions(m, "\n  key 'logging.format'"));
}

TEST_CASE("text that is not YAML, or not a mapping, is refused") {
  CHECK(mentions(refusal("node_name: [unclosed\n"), "not valid YAML"));
  CHECK(mentions(refusal("- a\n- b\n"), "mapping of keys to values"));
  CHECK(mentions(refusal(""), "key 'node_name': is required"));
}

TEST_CASE("a configuration file is read from disk; a missing one says so") {
  testing::TempDir dir;
  auto path = dir.write("agent.yaml", kMinimal);
  auto c = load_agent_config(path);
  REQUIRE(c.ok());
  CHECK(c->node_name == "node-1");
  auto missing = load_agent_config(dir.file("nope.yaml"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code() == ErrorCode::kNotFound);
  CHECK(mentions(missing.error().message(), "nope.yaml"));
}

namespace {

std::string read_doc() {
  std::ifstream in(std::string(WSCP_SOURCE_DIR) + "/docs/agent-config.md");
  REQUIRE(in);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("the sample in docs/agent-config.md is a valid configuration") {
  const std::string doc = read_doc();
  const auto start = doc.find("```yaml\n");
  REQUIRE(start != std::string::npos);
  const auto end = doc.find("```", start + 8);
  auto c = parse_agent_config(doc.substr(start + 8, end - start - 8), "docs/agent-config.md");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message()));
  CHECK(c->node_name == "worker-7");
  CHECK(c->notices.store == "main");
  CHECK(c->kubernetes.mode == KubernetesConfig::Mode::kInCluster);
}

TEST_CASE("every key the parser takes is documented in docs/agent-config.md") {
  const std::string doc = read_doc();
  for (const char* key :
       {"version", "node_name", "podman_socket", "journal_dir", "workspace_label", "memory_budget", "settle_period",
        "operations.workers", "operations.transfer_buffer", "operations.shutdown_grace",
        "api.address", "api.port", "api.max_body_size", "api.tls.client_ca", "api.tls.allowed_subjects",
        "api.tls.key", "api.tls.cert", "api.tls.signing_ca.cert", "api.tls.signing_ca.key", "api.tls.serving_names",
        "stores.NAME.url", "stores.NAME.credentials_dir", "stores.NAME.keyring", "stores.NAME.compression_level",
        "notices.store", "notices.aws.enabled", "notices.aws.base_url", "notices.aws.poll_interval",
        "notices.aws.token_ttl", "notices.gce.enabled", "notices.gce.base_url", "notices.gce.wait_timeout",
        "notices.azure.enabled", "notices.azure.base_url", "notices.azure.poll_interval", "notices.azure.acknowledge",
        "notices.azure.vm_name", "metrics.enabled", "metrics.address", "metrics.port", "logging.format",
        "logging.level", "kubernetes.in_cluster", "kubernetes.kubeconfig", "kubernetes.namespace",
        "kubernetes.lease_renew_interval", "kubernetes.lease_duration"}) {
    CAPTURE(key);
    CHECK(mentions(doc, std::string("| `") + key + "` |"));
  }
  // And a key the parser does not take is refused (the list above is the parser's).
  CHECK(mentions(refusal(std::string(kMinimal) + "api_port: 1\n"), "unknown key"));
}

TEST_CASE("the serve samples in docs/agent-daemon.md and README.md are valid configurations") {
  for (const char* file : {"/docs/agent-daemon.md", "/README.md"}) {
    std::ifstream in(std::string(WSCP_SOURCE_DIR) + file);
    REQUIRE(in);
    std::ostringstream s;
    s << in.rdbuf();
    const std::string doc = s.str();
    int samples = 0;
    for (auto start = doc.find("```yaml\n"); start != std::string::npos; start = doc.find("```yaml\n", start + 8)) {
      const auto end = doc.find("```", start + 8);
      REQUIRE(end != std::string::npos);
      const std::string yaml = doc.substr(start + 8, end - start - 8);
      if (!mentions(yaml, "node_name:")) continue;
      CAPTURE(file);
      auto c = parse_agent_config(yaml, file);
      CHECK_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message()));
      ++samples;
    }
    CAPTURE(file);
    CHECK(samples >= 1);
  }
}

TEST_CASE("a store's credentials_dir reaches its S3 URL, encoded") {
  StoreConfig s;
  s.url = "s3://bucket/prefix?endpoint=http://127.0.0.1:9000";
  CHECK(s.store_url() == s.url);
  s.credentials_dir = "/etc/wscp/store-credentials";
  CHECK(s.store_url() ==
        "s3://bucket/prefix?endpoint=http://127.0.0.1:9000&credentials_dir=%2Fetc%2Fwscp%2Fstore-credentials");
  s.url = "s3://bucket";
  s.credentials_dir = "/x&endpoint=http://other/100% sure";
  const std::string url = s.store_url();
  CHECK(url == "s3://bucket?credentials_dir=%2Fx%26endpoint%3Dhttp%3A%2F%2Fother%2F100%25%20sure");
  auto parsed = store::parse_s3_url(url);
  REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? "" : parsed.error().describe()));
  CHECK(parsed->credentials_dir == s.credentials_dir);  // one value, not another option
  CHECK(parsed->endpoint.empty());
  s.url = "file:///var/lib/wscp/store";
  CHECK(s.store_url() == "file:///var/lib/wscp/store");
}

TEST_CASE("credentials_dir is refused for a store that is not S3, or given twice") {
  CHECK(mentions(refusal(std::string(kMinimal) + "stores:\n  main: {url: /var/lib/wscp/store, credentials_dir: /c}\n"),
                 "is for S3 stores only"));
  CHECK(mentions(refusal(std::string(kMinimal) +
                         "stores:\n  main: {url: \"s3://b?credentials_dir=/a\", credentials_dir: /c, keyring: /k}\n"),
                 "give it in one place"));
}
