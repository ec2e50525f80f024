// wscp-agent serve: the node daemon. Wires the configuration into the
// logger, metrics, each store's node services, the operation manager, the
// mutual-TLS API, the Lease registration, the notice monitor and the
// evacuation it starts on a termination notice; on SIGTERM
// or SIGINT it stops taking operations, lets running ones end within the
// grace period, and exits 0.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>

#include "agent/api/api_server.h"
#include "agent/api/evacuation_routes.h"
#include "agent/api/health_routes.h"
#include "agent/api/operation_routes.h"
#include "agent/api/workspace_routes.h"
#include "agent/cli/commands.h"
#include "agent/config/agent_config.h"
#include "agent/config/quantity.h"
#include "agent/daemon/node_backend.h"
#include "agent/evacuation/evacuator.h"
#include "agent/notices/notice_monitor.h"
#include "agent/notices/notice_watchers.h"
#include "agent/operations/operation_manager.h"
#include "agent/registration/node_registration.h"
#include "agent/tls/serving_identity.h"
#include "common/version.h"
#include "http/client.h"
#include "kube/api_error.h"
#include "kube/in_cluster.h"
#include "kube/kube_client_impl.h"
#include "kube/kubeconfig.h"
#include "log/stream_logger.h"
#include "metrics/agent_metrics.h"
#include "metrics/metrics_endpoint.h"
#include "store/store_url.h"

namespace wscp::agent {

namespace {

int fail(const std::string& what, const Error& error) {
  std::cerr << "wscp-agent serve: " << what << ": " << error.describe() << "\n";
  return 1;
}

Result<kube::KubeConfig> kube_config(const KubernetesConfig& k) {
  if (k.mode == KubernetesConfig::Mode::kKubeconfig) return kube::load_kubeconfig(k.kubeconfig);
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || port == nullptr)
    return Error(ErrorCode::kInvalidArgument,
                 "kubernetes.mode is in-cluster but KUBERNETES_SERVICE_HOST/PORT are not set (not in a pod?)");
  return kube::in_cluster_config(host, port, "/var/run/secrets/kubernetes.io/serviceaccount");
}

// What `serve` would refuse about the stores before opening them: a shared
// (S3) store without a keyring, an S3 URL that does not parse. Files are not
// read, so a configuration can be checked where it will not run.
Status check_stores(const AgentConfig& cfg) {
  for (const auto& s : cfg.stores) {
    const StoreArgs args = store_args(s, cfg.node_name);
    if (auto st = args.check_keys(); !st) return st.error().wrap("store " + s.name);
    if (args.url().rfind("s3://", 0) == 0) {
      if (auto parsed = store::parse_s3_url(args.url()); !parsed) return parsed.error().wrap("store " + s.name);
    }
  }
  return Ok{};
}

int serve(const std::string& config_path) {
  auto loaded = load_agent_config(config_path);
  if (!loaded) return fail("configuration", loaded.error());
  const AgentConfig cfg = std::move(*loaded);
  auto clock = system_clock();
  auto logger = log::with_fields(log::make_stream_logger(std::cerr, cfg.logging.format, cfg.logging.level, clock),
                                 {{"node", cfg.node_name}});
  auto metrics = std::make_shared<metrics::AgentMetrics>(kVersion);

  // Signals are taken by sigwait below: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<metrics::MetricsEndpoint> metrics_endpoint;
  if (cfg.metrics.enabled) {
    auto ep = metrics::MetricsEndpoint::start(cfg.metrics.address, cfg.metrics.port, metrics->registry());
    if (!ep) return fail("metrics endpoint", ep.error());
    metrics_endpoint = std::move(*ep);
  }

  std::unique_ptr<NodeBackend> backend;
  if (cfg.dry_run) {
    logger->warning("dry run: no Podman and no store; the workspaces are made up and every phase only pretends",
                    {{"workspaces", static_cast<std::int64_t>(cfg.dry_run->workspaces)}});
    backend = open_dry_run_backend(cfg);
  } else {
    auto opened = open_podman_backend(cfg, logger, metrics);
    if (!opened) return fail("node", opened.error());
    backend = std::move(*opened);
  }
  operations::PhaseRunner& runner = backend->runner();
  inventory::NodeInventory& inventory = backend->inventory();
  const std::uint64_t transfer_bytes = backend->transfer_bytes();
  if (transfer_bytes > cfg.memory_budget_bytes) {
    return fail("configuration",
                Error(ErrorCode::kInvalidArgument,
                      "memory_budget (" + format_byte_size(cfg.memory_budget_bytes) +
                          ") cannot hold one checkpoint or restore, which holds up to " +
                          format_byte_size(transfer_bytes) + " in flight; raise memory_budget to at least that"));
  }

  auto op_store = operations::DirectoryOperationStore::open(cfg.journal_dir + "/operations");
  if (!op_store) return fail("operation records", op_store.error());
  operations::ManagerOptions mo;
  mo.workers = cfg.operations.workers;
  mo.memory_budget_bytes = cfg.memory_budget_bytes;
  mo.transfer_buffer_bytes = transfer_bytes;
  mo.retention = cfg.operations.retention;
  operations::OperationManager manager(std::move(*op_store), runner, mo, clock, logger, metrics);
  if (auto s = manager.open(); !s)
    logger->error("recovery at start failed; the agent serves and retries nothing by itself",
                  {{"error", s.error().describe()}});
  manager.prune_finished();

  tls::ServingIdentityOptions tio;
  tio.key_path = cfg.api.tls.key;
  tio.cert_path = cfg.api.tls.cert;
  tio.signing_ca_cert_path = cfg.api.tls.signing_ca_cert;
  tio.signing_ca_key_path = cfg.api.tls.signing_ca_key;
  tio.common_name = cfg.node_name;
  tio.names = cfg.api.tls.serving_names;
  auto identity = tls::ensure_serving_identity(tio, *clock);
  if (!identity) return fail("serving identity", identity.error());

  // Set below when Kubernetes is configured; the evacuation publishes there.
  std::unique_ptr<kube::KubeClient> kube_client;
  std::unique_ptr<registration::NodeRegistration> reg;
  evacuation::EvacuationOptions eo;
  eo.store = cfg.notices.store;
  eo.priority_label = cfg.notices.priority_label;
  eo.default_window = cfg.notices.default_window;
  eo.resume_grace = cfg.notices.resume_grace;
  auto read_claim = [&backend](const std::string& store, const std::string& workspace_id,
                                const std::string& checkpoint_id) { return backend->claim(store, workspace_id, checkpoint_id); };
  std::unique_ptr<notices::NoticeMonitor> monitor;
  evacuation::Evacuator::Acknowledger acknowledge;
  if (cfg.notices.azure.enabled && cfg.notices.azure.acknowledge) {
    acknowledge = [&monitor](const notices::TerminationNotice& n) -> Status {
      if (n.provider != notices::Provider::kAzure) return Ok{};  // only Azure waits for a go-ahead
      if (!monitor) return Error(ErrorCode::kUnavailable, "the notice monitor is not running");
      return monitor->acknowledge(n);
    };
  }
  evacuation::Evacuator evacuator(
      manager, [&inventory] { return inventory.workspaces(); }, read_claim, eo, clock, logger, metrics,
      [&reg](const nlohmann::json& state) {
        if (reg) reg->update([&](registration::RegistrationInfo& info) { info.evacuation = state; });
      },
      acknowledge);

  api::Router router;
  auto readiness = [&backend] { return backend->ready(); };
  api::add_health_routes(router, readiness);
  api::add_operation_routes(router, manager);
  api::add_workspace_routes(router, inventory, runner);
  api::add_evacuation_routes(router, evacuator);
  api::ApiServerConfig ac;
  ac.address = cfg.api.address;
  ac.port = cfg.api.port;
  ac.max_body_bytes = cfg.api.max_body_bytes;
  ac.cert_file = identity->cert_path;
  ac.key_file = identity->key_path;
  ac.client_ca_file = cfg.api.tls.client_ca;
  ac.allowed_subjects = cfg.api.tls.allowed_subjects;
  auto server = api::make_cpprest_api_server(ac, router, logger, metrics);
  if (auto s = server->start(); !s) return fail("API server", s.error());

  if (cfg.kubernetes.mode != KubernetesConfig::Mode::kDisabled) {
    auto kc = kube_config(cfg.kubernetes);
    if (!kc) return fail("kubernetes", kc.error());
    kube_client = kube::make_kube_client(*kc);
    registration::RegistrationOptions ro;
    ro.namespace_name = cfg.kubernetes.namespace_name;
    ro.node = cfg.node_name;
    ro.renew_interval = cfg.kubernetes.lease_renew_interval;
    ro.lease_duration = cfg.kubernetes.lease_duration;
    ro.holder = registration::holder_identity(cfg.node_name, identity->public_key_pin);
    reg = std::make_unique<registration::NodeRegistration>(*kube_client, ro, clock, logger);
    const std::string host = cfg.api.tls.serving_names.empty() ? cfg.node_name : cfg.api.tls.serving_names.front();
    reg->update([&](registration::RegistrationInfo& info) {
      // An IPv6 address goes in brackets, as URLs write it.
      const std::string url_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
      info.endpoint = "https://" + url_host + ":" + std::to_string(cfg.api.port);
      info.certificate_sha256 = identity->certificate_sha256;
      info.public_key_pin = identity->public_key_pin;
      info.capabilities = {"checkpoint", "restore", "release", "resume", "delete", "preflight"};
      if (cfg.notices.aws.enabled) info.capabilities.push_back("notices:aws");
      if (cfg.notices.gce.enabled) info.capabilities.push_back("notices:gce");
      if (cfg.notices.azure.enabled) info.capabilities.push_back("notices:azure");
      if (cfg.dry_run) info.capabilities.push_back("dry-run");
    });
    if (auto first = reg->renew(); !first) {
      // Another live agent under this node name is a configuration error;
      // an API server out of reach is retried by the renewal loop.
      if (first.error().code() == ErrorCode::kConflict && kube::api_status(first.error()) == 0)
        return fail("registration", first.error());
      logger->warning("registration lease not created yet", {{"error", first.error().describe()}});
    }
    reg->start();
  }

  if (cfg.notices.any_enabled()) {
    http::ClientConfig hc;
    std::shared_ptr<http::Client> http = http::make_curl_client(hc);
    monitor = std::make_unique<notices::NoticeMonitor>(
        notices::make_notice_watchers(cfg.notices, http, clock), clock, logger, metrics,
        [&reg, &evacuator, logger](const notices::TerminationNotice& n) {
          logger->warning("termination notice", {{"provider", notices::to_string(n.provider)},
                                                 {"kind", notices::to_string(n.kind)},
                                                 {"action", n.action}});
          // The evacuation is published first: a controller that sees the
          // notice finds the checkpoints to adopt beside it, not after it.
          evacuator.on_notice(n);
          if (reg) reg->update([&](registration::RegistrationInfo& info) { info.termination_notice = n.to_json(); });
        });
    monitor->start();
  }

  logger->info("serving", {{"api", server->url()}, {"stores", static_cast<std::int64_t>(backend->store_count())}});
  // Wait for a signal, following the evacuation every second and
  // refreshing the published capacity every renewal meanwhile.
  const auto refresh = cfg.kubernetes.lease_renew_interval;
  auto next_refresh = clock->now();
  auto next_prune = clock->now() + std::chrono::minutes(10);
  int sig = 0;
  for (;;) {
    evacuator.tick();
    if (clock->now() >= next_prune) {
      next_prune = clock->now() + std::chrono::minutes(10);
      manager.prune_finished();
    }
    if (reg && clock->now() >= next_refresh) {
      next_refresh = clock->now() + refresh;
      const Status ready = readiness();
      const std::string not_ready = ready ? std::string() : ready.error().message();
      auto cap = inventory.capacity();
      reg->update([&](registration::RegistrationInfo& info) {
        if (cap) info.capacity = inventory::to_json(*cap);
        info.not_ready = not_ready;
      });
    }
    timespec ts{1, 0};
    sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig > 0) break;
  }
  logger->info("stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  // No new notice is acted on; what the evacuation's checkpoints became
  // within the grace period is still published before the Lease's last renewal.
  if (monitor) monitor->stop();
  manager.shutdown(cfg.operations.shutdown_grace);
  evacuator.tick();
  server->stop();
  if (reg) {
    reg->stop();
    if (auto last = reg->renew(); !last) {
      logger->warning("last Lease renewal failed", {{"error", last.error().describe()}});
    }
  }
  logger->info("stopped");
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "run the node daemon: the mutual-TLS API, operations, registration");
  auto path = std::make_shared<std::string>();
  auto check_only = std::make_shared<bool>(false);
  cmd->add_option("--config", *path, "the agent's YAML configuration (docs/agent-config.md)")->required();
  cmd->add_flag("--check-config", *check_only, "only check the configuration: print what is wrong, exit 0 when it is valid");
  cmd->callback([path, check_only] {
    if (*check_only) {
      auto loaded = load_agent_config(*path);
      if (!loaded) throw CLI::RuntimeError(fail("configuration", loaded.error()));
      if (auto st = check_stores(*loaded); !st) throw CLI::RuntimeError(fail("configuration", st.error()));
      std::cout << *path << ": valid\n";
      return;
    }
    int rc = serve(*path);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace wscp::agent
