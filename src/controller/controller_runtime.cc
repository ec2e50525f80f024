#include "controller/controller_runtime.h"

#include <unistd.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "agent/registration/node_registration.h"
#include "controller/agent_client_factory.h"
#include "controller/agent_directory.h"
#include "controller/checkpoint_reconciler.h"
#include "controller/controller_metrics.h"
#include "controller/node_evacuator.h"
#include "controller/retention.h"
#include "kube/api_error.h"
#include "kube/config.h"
#include "kube/event_recorder.h"
#include "kube/informer.h"
#include "kube/kube_client_impl.h"
#include "kube/leader_election.h"
#include "kube/resource.h"
#include "kube/work_queue.h"
#include "kube/worker_pool.h"
#include "metrics/metrics_endpoint.h"
#include "common/version.h"

namespace wscp::controller {

namespace {

std::string default_identity() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "wscp-controller") + "-" + std::to_string(getpid());
}

// Queue keys: "<namespace>/<name>" for a WorkspaceCheckpoint, "node:<name>"
// for a Node (node names hold no '/').
constexpr std::string_view kNodeKeyPrefix = "node:";

std::string key_of(const nlohmann::json& object) {
  const auto& meta = object.at("metadata");
  return meta.value("namespace", "") + "/" + meta.value("name", "");
}

// The termination notice an agent's Lease carries ("" for none).
std::string notice_annotation(const nlohmann::json& lease) {
  const auto m = lease.find("metadata");
  if (m == lease.end() || !m->is_object()) return {};
  const auto a = m->find("annotations");
  if (a == m->end() || !a->is_object()) return {};
  const auto n = a->find(agent::registration::kNoticeAnnotation);
  return n != a->end() && n->is_string() ? n->get<std::string>() : std::string();
}

std::string node_key_of(const nlohmann::json& node) {
  return std::string(kNodeKeyPrefix) + node.at("metadata").value("name", "");
}

}  // namespace

Status validate(const ControllerOptions& options) {
  if (options.client_cert.empty() || options.client_key.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "--client-cert and --client-key are required: the agents accept only mutual TLS, with a "
                 "certificate from the CA in their api.tls.client_ca");
  }
  if (options.workers == 0 || options.workers > 64)
    return Error(ErrorCode::kInvalidArgument, "--workers must be from 1 to 64");
  if (options.agents_namespace.empty()) return Error(ErrorCode::kInvalidArgument, "--namespace must not be empty");
  return Ok{};
}

Status run_controller(const ControllerOptions& options, const CancelToken& stop) {
  if (auto st = validate(options); !st) return st;
  auto clock = system_clock();
  auto logger = log::make_stream_logger(std::cerr, options.log_format, options.log_level, clock);
  const std::string identity = options.identity.empty() ? default_identity() : options.identity;

  auto config = kube::load_config(kube::ConfigSources::from_environment(options.kubeconfig));
  if (!config) return config.error().wrap("cannot reach the Kubernetes API");
  std::shared_ptr<kube::KubeClient> kube = kube::make_kube_client(*config, {}, clock);

  ControllerMetrics metrics(kVersion);
  std::unique_ptr<metrics::MetricsEndpoint> endpoint;
  if (options.metrics_port != 0) {
    auto started = metrics::MetricsEndpoint::start(options.metrics_address, options.metrics_port, metrics.registry());
    if (!started) return started.error();
    endpoint = std::move(*started);
  }
  // Declared before the informers whose handlers fill it, so it outlives them.
  kube::WorkQueue queue(kube::WorkQueueOptions{{}, metrics.queue_observer()});
  AgentDirectory directory(clock);
  kube::Informer leases(*kube, kube::resources::kLeases, options.agents_namespace);
  leases.add_handlers(directory.informer_handlers());
  kube::Informer nodes(*kube, kube::resources::kNodes, "");
  kube::Informer checkpoints(*kube, kube::resources::kWorkspaceCheckpoints, "");

  AgentClientOptions agent_options;
  agent_options.client_cert = options.client_cert;
  agent_options.client_key = options.client_key;
  if (auto st = validate(agent_options); !st) return st;
  DirectoryAgentClientFactory agents(directory, agent_options);
  ClusterPlacementReader placement(
      [&nodes] { return nodes.list(); }, directory, agents, ClusterPlacementOptions{PlacementPolicy{}, options.tenancy},
      [&kube](const std::string& ns, const std::string& name) -> Result<nlohmann::json> {
        auto got = kube->get(kube::resources::kWorkspaceCheckpoints, ns, name);
        if (!got && kube::is_not_found(got.error())) return Error(ErrorCode::kNotFound, got.error().message());
        return got;
      });
  kube::EventRecorderConfig events_config;
  events_config.reporting_instance = identity;
  kube::KubeEventRecorder events(*kube, events_config, clock);
  CheckpointReconciler reconciler(ReconcilerDeps{
      *kube, placement, agents, events, logger, clock, "wscp-controller", &metrics, MachineOptions{options.cut_through},
      [&directory] {
        std::vector<std::string> deleters;
        for (const auto& agent : directory.live_agents())
          if (agent.has_capability("delete")) deleters.push_back(agent.node);
        return deleters;
      }});
  EvacuatorOptions evacuator_options;
  evacuator_options.termination_taint_keys = options.termination_taint_keys;
  evacuator_options.drain_cordoned = options.drain_cordoned;
  evacuator_options.tenancy = options.tenancy;
  evacuator_options.store = options.evacuation_store;
  NodeEvacuator evacuator(*kube, directory, agents, events, logger, evacuator_options);
  RetentionSweeper retention(*kube, events, logger, [&checkpoints] { return checkpoints.list(); }, options.keep_last);
  auto reconcile = [&](const std::string& key) {
    const auto started = std::chrono::steady_clock::now();
    if (key.starts_with(kRetentionKeyPrefix)) {
      auto result = retention.reconcile(key.substr(kRetentionKeyPrefix.size()));
      metrics.reconciled("retention", result, std::chrono::steady_clock::now() - started);
      return result;
    }
    const bool node = key.starts_with(kNodeKeyPrefix);
    auto result = node ? evacuator.reconcile(key.substr(kNodeKeyPrefix.size())) : reconciler.reconcile(key);
    metrics.reconciled(node ? "node" : "checkpoint", result, std::chrono::steady_clock::now() - started);
    return result;
  };
  // A finished resource may push an older one of its workspace past the
  // newest N.
  auto queue_checkpoint = [&](const nlohmann::json& o) {
    queue.add(key_of(o));
    if (options.keep_last == 0) return;
    if (auto c = retained_checkpoint(o)) queue.add(retention_key(*c));
  };

  checkpoints.add_handlers(kube::InformerHandlers{
      [&](const nlohmann::json& o) { queue_checkpoint(o); },
      [&](const nlohmann::json&, const nlohmann::json& o) { queue_checkpoint(o); },
      [&](const nlohmann::json& o) { queue.add(key_of(o)); },
  });
  // An agent's termination notice empties its node as a taint does: a
  // Lease that brings one (or another one) queues the node.
  auto queue_noticed_node = [&](const nlohmann::json& lease) {
    auto agent = parse_agent_lease(lease, WallTime{});
    if (agent && agent->termination_notice) queue.add(std::string(kNodeKeyPrefix) + agent->node);
  };
  leases.add_handlers(kube::InformerHandlers{
      [=](const nlohmann::json& lease) { queue_noticed_node(lease); },
      [=](const nlohmann::json& before, const nlohmann::json& lease) {
        if (notice_annotation(before) != notice_annotation(lease)) queue_noticed_node(lease);
      },
      nullptr,
  });
  nodes.add_handlers(kube::InformerHandlers{
      [&](const nlohmann::json& n) { queue.add(node_key_of(n)); },
      [&](const nlohmann::json&, const nlohmann::json& n) { queue.add(node_key_of(n)); },
      nullptr,
  });
  leases.start();
  nodes.start();
  checkpoints.start();
  logger->info("starting", {{"identity", identity}, {"agents_namespace", options.agents_namespace}});
  // Decisions need the whole picture: an agent or a node missing from a
  // cache still filling would refuse a migration that could go ahead.
  for (;;) {
    if (stop.cancelled()) return Ok{};
    if (leases.wait_for_sync(std::chrono::seconds(1)) && nodes.wait_for_sync(std::chrono::seconds(1)) &&
        checkpoints.wait_for_sync(std::chrono::seconds(1)))
      break;
    for (const auto* informer : {&leases, &nodes, &checkpoints}) {
      if (auto e = informer->last_error())
        logger->warning("waiting for the informers to sync", {{"error", e->describe()}});
    }
  }

  std::atomic<bool> lost{false};
  CancelToken elector_stop;
  std::unique_ptr<kube::WorkerPool> workers;
  kube::LeaderElectionConfig election;
  election.lease_namespace =
      options.leader_election_namespace.empty() ? options.agents_namespace : options.leader_election_namespace;
  election.lease_name = options.leader_election_lease;
  election.identity = identity;
  kube::LeaderCallbacks callbacks;
  callbacks.on_started_leading = [&](std::shared_ptr<CancelToken>) {
    logger->info("leading", {{"identity", identity}});
    metrics.leading(true);
    for (const auto& o : checkpoints.list()) queue_checkpoint(o);
    for (const auto& n : nodes.list()) queue.add(node_key_of(n));
    workers = kube::run_workers(queue, options.workers, reconcile,
                                [&](const std::string& key, const Error& e, bool will_retry) {
                                  logger->warning("reconcile failed", {{"object", key},
                                                                       {"error", e.describe()},
                                                                       {"will_retry", will_retry}});
                                });
  };
  callbacks.on_stopped_leading = [&] {
    metrics.leading(false);
    if (!stop.cancelled()) lost = true;
    // No pass of this replica may run once another can lead.
    if (workers) workers->stop();
    elector_stop.cancel();
  };
  kube::LeaderElector elector(*kube, election, callbacks, clock);
  std::thread stopper([&] {
    while (!stop.cancelled() && !elector_stop.cancelled()) clock->sleep_for(std::chrono::milliseconds(200));
    elector_stop.cancel();
  });
  Status ran = elector.run(elector_stop);
  stopper.join();
  if (workers) workers->stop();
  checkpoints.stop();
  nodes.stop();
  leases.stop();
  if (lost) return Error(ErrorCode::kUnavailable, "lost the leadership (lease " + election.lease_namespace + "/" +
                                                      election.lease_name + "): exiting so that one replica acts");
  logger->info("stopped", {});
  return ran;
}

}  // namespace wscp::controller
