// wscp-controller: watches WorkspaceCheckpoint resources and dispatches
// checkpoint and restore work to the node agents.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <thread>

#include "common/version.h"
#include "controller/controller_runtime.h"

namespace {

int run(const wscp::controller::ControllerOptions& options) {
  // Signals are taken by sigwait: block them before any thread starts. The
  // waiter outlives run(), so what it uses is shared with it.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto stop = std::make_shared<wscp::CancelToken>();
  std::thread waiter([stop, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    stop->cancel();
  });
  waiter.detach();
  auto st = wscp::controller::run_controller(options, *stop);
  if (!st) {
    std::cerr << "wscp-controller: " << st.error().describe() << "\n";
    return st.error().code() == wscp::ErrorCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wscp-controller: move live workspaces between Kubernetes nodes"};
  app.set_version_flag("--version", std::string("wscp-controller ") + wscp::kVersion);
  wscp::controller::ControllerOptions options;
  std::string log_format = "text";
  app.add_option("--kubeconfig", options.kubeconfig,
                 "kubeconfig file (default: the pod's service account in a cluster, else $KUBECONFIG or ~/.kube/config)");
  app.add_option("--namespace", options.agents_namespace, "namespace of the agents' registration Leases")
      ->capture_default_str();
  app.add_option("--leader-election-namespace", options.leader_election_namespace,
                 "namespace of the leader election Lease (default: --namespace)");
  app.add_option("--leader-election-lease", options.leader_election_lease, "name of the leader election Lease")
      ->capture_default_str();
  app.add_option("--identity", options.identity, "this replica's identity (default: host name and pid)");
  app.add_option("--client-cert", options.client_cert, "client certificate (PEM) for mutual TLS to the agents")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--client-key", options.client_key, "its private key (PEM)")->required()->check(CLI::ExistingFile);
  app.add_option("--workers", options.workers, "reconciles run at once")->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--tenancy-label", options.tenancy.namespace_label,
                 "the workspace label naming the namespace allowed to move it")
      ->capture_default_str();
  std::vector<std::string> tenancy_map;
  app.add_option("--tenancy-map", tenancy_map,
                 "WORKSPACE=NAMESPACE: a workspace (id or compose project) without the tenancy label belongs to "
                 "NAMESPACE (repeat)");
  app.add_option("--termination-taint-key", options.termination_taint_keys,
                 "a taint that announces a node's end (repeat; default: the common handlers' keys)")
      ->capture_default_str();
  app.add_flag("--drain-cordoned", options.drain_cordoned,
               "move the workspaces of cordoned nodes too (reason Drain)");
  bool sequential = false;
  app.add_flag("--sequential", sequential,
               "start a restore only once its checkpoint is sealed (by default the destination restores while the "
               "source writes the checkpoint: cut-through)");
  app.add_option("--keep-last", options.keep_last,
                 "keep the newest N finished WorkspaceCheckpoints of each workspace in each namespace, deleting "
                 "older ones with their archives (0: keep all; a resource whose workspace runs nowhere known is "
                 "always kept)")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  app.add_option("--evacuation-store", options.evacuation_store,
                 "the agents' store evacuations use (default: their only store)");
  app.add_option("--metrics-address", options.metrics_address, "where /metrics listens")->capture_default_str();
  app.add_option("--metrics-port", options.metrics_port, "the port of /metrics (0: none)")->capture_default_str();
  app.add_option("--log-format", log_format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  options.cut_through = !sequential;
  for (const auto& entry : tenancy_map) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size()) {
      std::cerr << "wscp-controller: --tenancy-map " << entry << ": give WORKSPACE=NAMESPACE\n";
      return 2;
    }
    options.tenancy.mapping[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  options.log_format = log_format == "json" ? wscp::log::Format::kJsonLines : wscp::log::Format::kText;
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::cerr << "wscp-controller: internal error: " << e.what() << "\n";
    return 70;
  }
}
