#pragma once

// What the controller's end-to-end tests stand on: the "kube" fixture's API
// server with the CRD, a namespace for the agents' Leases (one per test, so
// no earlier test's Lease is live), a tenant namespace, the Nodes a kubelet
// would register, the chart's service accounts, roles and Lease policy, the
// test PKI, a directory store, the agents on the sandbox nodes and
// wscp-controller as a process. The agents and the controller act with
// ServiceAccount tokens bound to Pods, as in a cluster; only the test itself
// (kubectl apply, taints) acts as the admin.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "kube_env.h"
#include "node_agent.h"
#include "sandbox_node.h"
#include "service_account_identities.h"

namespace wscp::controller::testing {

namespace at = wscp::agent::testing;
namespace kt = wscp::kube::testing;
namespace wt = wscp::testing;
using nlohmann::json;
using namespace std::chrono_literals;

inline void must(const kt::CommandResult& r, const std::string& what) {
  REQUIRE_MESSAGE(r.ok(), what, ": ", r.output());
}

// The Nodes a kubelet would register, Ready (no kubelet runs here).
inline void register_node(const kt::KubeEnv& kube, const std::string& name) {
  must(kube.kubectl({"apply", "-f", "-"},
                    json{{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", name}}}}.dump()),
       "node " + name);
  const json ready = {{"status",
                       {{"conditions",
                         {{{"type", "Ready"}, {"status", "True"}, {"reason", "KubeletReady"}, {"message", "test"}}}}}}};
  must(kube.kubectl({"patch", "node", name, "--subresource=status", "--type=merge", "-p", ready.dump()}),
       "node " + name + " Ready");
  // The API server taints a new Node not-ready; the node lifecycle
  // controller, which would lift it, does not run here.
  must(kube.kubectl({"patch", "node", name, "--type=merge", "-p", R"({"spec":{"taints":null}})"}),
       "node " + name + " untainted");
}

inline json get_object(const kt::KubeEnv& kube, const std::string& ns, const std::string& name) {
  auto r = kube.kubectl({"get", "wscp", name, "-n", ns, "-o", "json"});
  if (!r.ok()) return nullptr;
  return json::parse(r.out, nullptr, false);
}

inline std::string phase_of(const json& o) {
  if (!o.is_object() || !o.contains("status")) return "";
  return o["status"].value("phase", "");
}

// wscp-controller as a process, its metrics on a free port.
struct Controller {
  std::filesystem::path dir;
  std::uint16_t metrics_port = at::free_port();
  std::unique_ptr<at::ServeProcess> process;
  Controller(const std::string& kubeconfig, const std::filesystem::path& d, const std::string& pki,
             const std::string& agents_namespace, const std::string& identity,
             const std::vector<std::string>& extra_args = {})
      : dir(d) {
    std::filesystem::create_directories(dir);
    std::vector<std::string> args{WSCP_CONTROLLER_BINARY, "--kubeconfig", kubeconfig, "--namespace",
                                  agents_namespace, "--client-cert", pki + "/client.crt", "--client-key",
                                  pki + "/client.key", "--identity", identity, "--log-format", "json",
                                  "--metrics-address", "127.0.0.1", "--metrics-port", std::to_string(metrics_port)};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    process = std::make_unique<at::ServeProcess>(args, (dir / (identity + ".log")).string());
  }
  std::string log() const { return process->log(); }
  std::string metrics() const {
    return kt::KubeEnv::run_command({"curl", "-sf", "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics"})
        .out;
  }
};

struct Cluster {
  kt::KubeEnv kube;
  std::string agents_namespace = wt::unique_name("wscp-system");
  std::string team = wt::unique_name("team");
  wt::TempDir dir;
  std::string pki = (dir.path() / "pki").string();
  std::string store = (dir.path() / "store").string();
  std::unique_ptr<ServiceAccountIdentities> identities;

  Cluster() {
    kube.apply_crd(std::string(WSCP_SOURCE_DIR) + "/crds/wscp.dev_workspacecheckpoints.yaml",
                   "workspacecheckpoints.wscp.dev");
    must(kube.kubectl({"create", "namespace", agents_namespace}), "namespace " + agents_namespace);
    must(kube.kubectl({"create", "namespace", team}), "namespace " + team);
    register_node(kube, "node-1");
    register_node(kube, "node-2");
    identities = std::make_unique<ServiceAccountIdentities>(kube, agents_namespace, dir.path() / "identities",
                                                            std::vector<std::string>{"node-1", "node-2"});
    at::make_test_pki(pki);
    std::filesystem::create_directories(store);
  }
  ~Cluster() { (void)kube.kubectl({"delete", "namespace", team, agents_namespace, "--wait=false"}); }

  at::NodeAgentConfig agent(const std::string& node, const std::string& socket,
                            const std::string& notices = "") const {
    const std::string registration = "kubernetes:\n  kubeconfig: " + identities->agent_kubeconfig(node) +
                                     "\n  namespace: " + agents_namespace +
                                     "\n  lease_renew_interval: 1s\n  lease_duration: 10s\n";
    return at::NodeAgentConfig{node, socket, dir.path() / node, pki, at::directory_store("main", store), notices,
                               registration};
  }
  std::unique_ptr<Controller> controller(const std::string& identity,
                                         const std::vector<std::string>& extra_args = {}) const {
    return std::make_unique<Controller>(identities->controller_kubeconfig(), dir.path() / "controller", pki,
                                        agents_namespace, identity, extra_args);
  }
  void apply(const json& object) const { must(kube.kubectl({"apply", "-f", "-"}, object.dump()), "kubectl apply"); }
};

// The two sandbox nodes with the test image, and an agent on each (on
// node-1 only with kNode1Only; a test may start node-2's itself). With
// `node1_faults`, node-1's agent starts with WSCP_FAULT set to it (its
// points reached are logged in `node1_fault_log`); a restart of that agent
// (agent1->start()) runs without faults. `node1_notices` configures the
// termination notices node-1's agent watches (the `notices:` entries).
struct TwoNodes {
  enum Agents { kBoth, kNode1Only };
  wt::SandboxNode n1{"node-1"};
  wt::SandboxNode n2{"node-2"};
  std::filesystem::path node1_fault_log;
  std::unique_ptr<at::NodeAgent> agent1;
  std::unique_ptr<at::NodeAgent> agent2;
  explicit TwoNodes(const Cluster& cluster, Agents agents = kBoth, const std::string& node1_faults = "",
                    const std::string& node1_notices = "") {
    n1.ensure_testbox();
    n2.ensure_testbox();
    node1_fault_log = cluster.dir.path() / "node-1-faults.log";
    if (!node1_faults.empty()) {
      setenv("WSCP_FAULT", node1_faults.c_str(), 1);
      setenv("WSCP_FAULT_LOG", node1_fault_log.c_str(), 1);
    }
    agent1 = std::make_unique<at::NodeAgent>(cluster.agent("node-1", n1.socket(), node1_notices));
    unsetenv("WSCP_FAULT");
    unsetenv("WSCP_FAULT_LOG");
    if (agents == kBoth) agent2 = std::make_unique<at::NodeAgent>(cluster.agent("node-2", n2.socket()));
  }
  wt::SandboxNode& node(const std::string& name) {
    REQUIRE_MESSAGE((name == "node-1" || name == "node-2"), "no node ", name);
    return name == "node-1" ? n1 : n2;
  }
  // Whether node-1's agent reached fault point `point`.
  bool node1_reached(const std::string& point) const {
    return at::read_file_or_empty(node1_fault_log).find(point) != std::string::npos;
  }
  // Lets node-1's agent go on from a `wait` fault point.
  void release_node1(const std::string& point) const {
    std::ofstream(node1_fault_log.string() + "." + point + ".go").put('\n');
  }
};

// A WorkspaceCheckpoint moving container `name` from node-1 to node-2.
inline json move_resource(const std::string& ns, const std::string& name, const std::string& from = "node-1",
                          const std::string& to = "node-2", const std::string& resource_name = "") {
  return {{"apiVersion", "wscp.dev/v1alpha1"},
          {"kind", "WorkspaceCheckpoint"},
          {"metadata", {{"name", resource_name.empty() ? "move-" + name : resource_name}, {"namespace", ns}}},
          {"spec",
           {{"workspace", {{"node", from}, {"container", name}}},
            {"destination", {{"node", to}}},
            {"store", "main"},
            {"deadline", at::rfc3339_in(std::chrono::seconds(300))}}}};
}

// A counter on `node` labelled as a workspace of namespace `ns` (or of
// none, with ns "").
inline void start_counter(wt::SandboxNode& node, const std::string& name, const std::string& ns) {
  json labels = {{"dev.containers.id", name}};
  if (!ns.empty()) labels["wscp.dev/namespace"] = ns;
  node.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"}, {{"labels", labels}});
  REQUIRE(wt::eventually(30s, [&] { return node.count(name) >= 10; }));
}

// Waits until the object's phase is final (Restored or Failed); returns it.
inline json wait_final(const Cluster& cluster, const std::string& object_name,
                       const std::function<std::string()>& diagnostics, std::chrono::seconds timeout = 240s) {
  json object;
  REQUIRE_MESSAGE(wt::eventually(timeout,
                                 [&] {
                                   object = get_object(cluster.kube, cluster.team, object_name);
                                   const std::string phase = phase_of(object);
                                   return phase == "Restored" || phase == "Failed";
                                 }),
                  object.dump(2), "\n", diagnostics());
  return object;
}

// Applies a move of a fresh counter; returns the container's name and the
// object's uid once the controller has asked node-1's agent for the
// checkpoint (or, with `wait_for_checkpoint` false, once the object exists).
inline std::pair<std::string, std::string> start_move(const Cluster& cluster, TwoNodes& nodes,
                                                      const std::string& prefix, bool wait_for_checkpoint = true) {
  const std::string name = wt::unique_name(prefix);
  start_counter(nodes.n1, name, cluster.team);
  cluster.apply(move_resource(cluster.team, name));
  std::string uid;
  REQUIRE(wt::eventually(60s, [&] {
    const json o = get_object(cluster.kube, cluster.team, "move-" + name);
    if (!o.is_object()) return false;
    uid = o.at("metadata").value("uid", "");
    return !wait_for_checkpoint || nodes.agent1->operation(uid + "-checkpoint").contains("state");
  }));
  return {name, uid};
}

// Where the status says it runs, it runs and counts on, and nowhere else.
inline void check_runs_once(const json& object, const std::string& name, TwoNodes& nodes) {
  INFO(object.dump(2));
  const std::string on = object.at("status").at("runningOn").at("node");
  wt::SandboxNode& there = nodes.node(on);
  wt::SandboxNode& other = nodes.node(on == "node-1" ? "node-2" : "node-1");
  REQUIRE(there.client().inspect_container(name)->running());
  CHECK_FALSE(*other.client().container_exists(name));  // no copy left behind, running or not
  const long long count = there.count(name);
  CHECK(wt::eventually(30s, [&] { return there.count(name) > count; }));
}

}  // namespace wscp::controller::testing
