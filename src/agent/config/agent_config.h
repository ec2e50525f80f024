#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "log/logger.h"
#include "log/stream_logger.h"

namespace wscp::agent {

// The configuration of `wscp-agent serve` (a YAML file; every key is
// described in docs/agent-config.md). Defaults are those of a DaemonSet pod
// with the host's Podman socket mounted.

struct TlsConfig {
  std::string client_ca;                      // required: only clients with a certificate from this CA get in
  std::vector<std::string> allowed_subjects;  // client certificate CNs allowed; empty = any from client_ca
  std::string key = "/var/lib/wscp/tls/serving.key";   // the agent's own serving key (made when missing)
  std::string cert = "/var/lib/wscp/tls/serving.crt";  // and its certificate
  std::string signing_ca_cert;                // optional: sign the serving certificate with this CA
  std::string signing_ca_key;                 //   (both or neither; neither = self-signed, pinned by fingerprint)
  std::vector<std::string> serving_names;     // DNS names / IP addresses the serving certificate names
};

struct ApiConfig {
  std::string address = "0.0.0.0";
  std::uint16_t port = 9443;
  std::uint64_t max_body_bytes = 1ull << 20;
  TlsConfig tls;
};

struct StoreConfig {
  std::string name;
  std::string url;              // s3://bucket/prefix?endpoint=..., file:///dir or /dir
  std::string credentials_dir;  // optional: a mounted Secret with the S3 credentials
  std::string keyring;          // optional: the encryption/authentication keys
  int compression_level = 3;    // zstd level 1..19; 0 = uncompressed

  // The URL the store is opened with: an S3 URL carries credentials_dir as
  // its option of that name (unless the URL names one itself).
  std::string store_url() const;
};

struct AwsNoticeConfig {
  bool enabled = false;
  std::string base_url = "http://169.254.169.254";
  std::chrono::milliseconds poll_interval{5000};
  std::chrono::seconds token_ttl{21600};
};

struct GceNoticeConfig {
  bool enabled = false;
  std::string base_url = "http://metadata.google.internal";
  std::chrono::seconds wait_timeout{60};  // one wait-for-change request lasts at most this long
};

struct AzureNoticeConfig {
  bool enabled = false;
  std::string base_url = "http://169.254.169.254";
  std::chrono::milliseconds poll_interval{5000};
  bool acknowledge = false;  // approve the event (StartRequests) once this node's checkpoints are durable
  std::string vm_name;       // optional: this VM's name in the events' Resources (asked from IMDS when empty)
};

struct NoticesConfig {
  std::string store;  // which store a notice's checkpoints go to ("" = the only store configured)
  // A workspace's evacuation order: a higher value of this label on its
  // primary container goes first; then the smallest in memory.
  std::string priority_label = "wscp.dev/evacuation-priority";
  // Used when a notice names no time (the node may go at once).
  std::chrono::milliseconds default_window{30'000};
  // After the deadline: how long a checkpoint may wait for a restore to
  // claim it before the node, still alive, resumes the workspace in place.
  std::chrono::milliseconds resume_grace{120'000};
  AwsNoticeConfig aws;
  GceNoticeConfig gce;
  AzureNoticeConfig azure;
  bool any_enabled() const { return aws.enabled || gce.enabled || azure.enabled; }
};

struct MetricsConfig {
  bool enabled = true;
  std::string address = "0.0.0.0";
  std::uint16_t port = 9464;
};

struct LoggingConfig {
  log::Format format = log::Format::kText;
  log::Level level = log::Level::kInfo;
};

struct KubernetesConfig {
  enum class Mode { kDisabled, kInCluster, kKubeconfig };
  Mode mode = Mode::kDisabled;
  std::string kubeconfig;
  std::string namespace_name = "wscp-system";
  std::chrono::milliseconds lease_renew_interval{5000};
  std::chrono::milliseconds lease_duration{20000};
};

// How operations run: a fixed pool of workers, and what each checkpoint or
// restore is expected to hold in flight against memory_budget_bytes.
struct OperationsConfig {
  std::size_t workers = 4;                          // operations running at once
  std::uint64_t transfer_buffer_bytes = 64ull << 20;  // admitted per checkpoint/restore
  std::chrono::milliseconds shutdown_grace{30'000};   // after SIGTERM, how long running operations get
  std::chrono::milliseconds retention{7 * 24 * 3'600'000LL};  // how long finished operations' records are kept
};

// For benchmarks of the controller: Podman and the stores are not touched.
// The agent serves its API and registration as usual, but its workspaces
// are made up at start and every phase succeeds after phase_duration.
struct DryRunConfig {
  std::size_t workspaces = 100;                 // running at start, named <node>-ws-<i>
  std::map<std::string, std::string> labels;   // every workspace's labels (e.g. its namespace)
  std::chrono::milliseconds phase_duration{0};  // how long each phase pretends to take
  std::uint64_t workspace_memory_bytes = 256ull << 20;  // each one's size in memory
};

struct AgentConfig {
  std::string node_name;  // required
  std::string podman_socket = "/run/podman/podman.sock";
  std::string journal_dir = "/var/lib/wscp/journal";
  std::string workspace_label = "dev.containers.id";
  std::uint64_t memory_budget_bytes = 1ull << 30;  // archive parts in flight, across all operations
  std::chrono::milliseconds settle_period{5000};
  OperationsConfig operations;
  ApiConfig api;
  std::vector<StoreConfig> stores;
  NoticesConfig notices;
  MetricsConfig metrics;
  LoggingConfig logging;
  KubernetesConfig kubernetes;
  std::optional<DryRunConfig> dry_run;  // present: no Podman, no store (see DryRunConfig)

  const StoreConfig* find_store(std::string_view name) const;
};

// Parses and validates a configuration. Every problem is reported at once,
// one per line, each naming the key ("api.port"), what was found and what
// is allowed; the error is kInvalidArgument. `source` names the file in
// messages. Files named by the configuration are not opened here.
Result<AgentConfig> parse_agent_config(std::string_view yaml, std::string_view source);
// Reads the file and parses it.
Result<AgentConfig> load_agent_config(const std::string& path);

}  // namespace wscp::agent
