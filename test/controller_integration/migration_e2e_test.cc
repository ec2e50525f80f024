// The controller end to end: a real kube-apiserver + etcd (fixture "kube"),
// `wscp-agent serve` on both sandbox nodes (real Podman + CRIU) registered
// through their Leases, a directory store they share, and `wscp-controller`
// as a process. `kubectl apply` of a WorkspaceCheckpoint moves a counting
// workspace from node-1 to node-2; the status, the conditions and the
// Events tell the story, and the count continues.
#include <doctest/doctest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "kube_env.h"
#include "node_agent.h"
#include "sandbox_node.h"

using namespace std::chrono_literals;
using nlohmann::json;
namespace at = wscp::agent::testing;
namespace kt = wscp::kube::testing;
namespace wt = wscp::testing;

namespace {

void must(const kt::CommandResult& r, const std::string& what) { REQUIRE_MESSAGE(r.ok(), what, ": ", r.output()); }

// The Nodes a kubelet would register, Ready (no kubelet runs here).
void register_node(const kt::KubeEnv& kube, const std::string& name) {
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

json get_object(const kt::KubeEnv& kube, const std::string& ns, const std::string& name) {
  auto r = kube.kubectl({"get", "wscp", name, "-n", ns, "-o", "json"});
  if (!r.ok()) return nullptr;
  return json::parse(r.out, nullptr, false);
}

std::string phase_of(const json& o) {
  if (!o.is_object() || !o.contains("status")) return "";
  return o["status"].value("phase", "");
}

struct Controller {
  std::filesystem::path dir;
  std::uint16_t metrics_port = at::free_port();
  std::unique_ptr<at::ServeProcess> process;
  Controller(const kt::KubeEnv& kube, const std::filesystem::path& d, const std::string& pki,
             const std::string& agents_namespace, const std::string& identity)
      : dir(d) {
    std::filesystem::create_directories(dir);
    process = std::make_unique<at::ServeProcess>(
        std::vector<std::string>{WSCP_CONTROLLER_BINARY, "--kubeconfig", kube.admin_kubeconfig(), "--namespace",
                                 agents_namespace, "--client-cert", pki + "/client.crt", "--client-key",
                                 pki + "/client.key", "--identity", identity, "--log-format", "json",
                                 "--metrics-address", "127.0.0.1", "--metrics-port", std::to_string(metrics_port)},
        (dir / (identity + ".log")).string());
  }
  std::string log() const { return process->log(); }
  std::string metrics() const {
    return kt::KubeEnv::run_command({"curl", "-sf", "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics"})
        .out;
  }
};

// What both tests stand on: the CRD, a namespace for the agents' Leases
// and the controller's (its own, so that no earlier test's Lease is live),
// a tenant namespace, the Nodes, the PKI and a store directory.
struct Cluster {
  kt::KubeEnv kube;
  std::string agents_namespace = wt::unique_name("wscp-system");
  std::string team = wt::unique_name("team");
  wt::TempDir dir;
  std::string pki = (dir.path() / "pki").string();
  std::string store = (dir.path() / "store").string();

  Cluster() {
    kube.apply_crd(std::string(WSCP_SOURCE_DIR) + "/crds/wscp.dev_workspacecheckpoints.yaml",
                   "workspacecheckpoints.wscp.dev");
    must(kube.kubectl({"create", "namespace", agents_namespace}), "namespace " + agents_namespace);
    must(kube.kubectl({"create", "namespace", team}), "namespace " + team);
    register_node(kube, "node-1");
    register_node(kube, "node-2");
    at::make_test_pki(pki);
    std::filesystem::create_directories(store);
  }
  ~Cluster() {
    (void)kube.kubectl({"delete", "namespace", team, agents_namespace, "--wait=false"});
  }

  at::NodeAgentConfig agent(const std::string& node, const std::string& socket) const {
    const std::string registration = "kubernetes:\n  kubeconfig: " + kube.admin_kubeconfig() +
                                     "\n  namespace: " + agents_namespace +
                                     "\n  lease_renew_interval: 1s\n  lease_duration: 10s\n";
    return at::NodeAgentConfig{node, socket, dir.path() / node, pki, at::directory_store("main", store), "",
                               registration};
  }
  std::unique_ptr<Controller> controller(const std::string& identity) const {
    return std::make_unique<Controller>(kube, dir.path() / "controller", pki, agents_namespace, identity);
  }
};

// A WorkspaceCheckpoint moving container `name` from node-1 to node-2.
json move_resource(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "wscp.dev/v1alpha1"},
          {"kind", "WorkspaceCheckpoint"},
          {"metadata", {{"name", "move-" + name}, {"namespace", ns}}},
          {"spec",
           {{"workspace", {{"node", "node-1"}, {"container", name}}},
            {"destination", {{"node", "node-2"}}},
            {"store", "main"},
            {"deadline", at::rfc3339_in(std::chrono::seconds(300))}}}};
}

// A counter on node-1 labelled as a workspace of namespace `ns`.
void start_counter(wt::SandboxNode& node, const std::string& name, const std::string& ns) {
  node.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"},
           {{"labels", {{"dev.containers.id", name}, {"wscp.dev/namespace", ns}}}});
  REQUIRE(wt::eventually(30s, [&] { return node.count(name) >= 10; }));
}

}  // namespace

TEST_CASE("controller e2e: kubectl apply moves a workspace from node-1 to node-2; the count continues") {
  Cluster cluster;
  const auto& kube = cluster.kube;
  const std::string& team = cluster.team;
  wt::SandboxNode n1("node-1"), n2("node-2");
  n1.ensure_testbox();
  n2.ensure_testbox();
  at::NodeAgent agent1(cluster.agent("node-1", n1.socket()));
  at::NodeAgent agent2(cluster.agent("node-2", n2.socket()));

  const std::string name = wt::unique_name("e2e-counter");
  start_counter(n1, name, team);
  auto controller = cluster.controller("e2e-1");
  const json resource = move_resource(team, name);
  must(kube.kubectl({"apply", "-f", "-"}, resource.dump()), "kubectl apply");

  json object;
  REQUIRE_MESSAGE(wt::eventually(240s,
                                 [&] {
                                   object = get_object(kube, team, "move-" + name);
                                   const std::string phase = phase_of(object);
                                   return phase == "Restored" || phase == "Failed";
                                 }),
                  object.dump(2), "\ncontroller:\n", controller->log(), "\nagent-1:\n", agent1.log(), "\nagent-2:\n",
                  agent2.log());
  INFO(object.dump(2));
  INFO(controller->log());
  const json& status = object.at("status");
  REQUIRE(status.at("phase") == "Restored");
  CHECK(status.at("runningOn").at("node") == "node-2");
  CHECK(status.at("sourceNode") == "node-1");
  CHECK(status.at("destinationNode") == "node-2");
  CHECK(status.at("decision") == "Restore");
  CHECK(status.at("workspaceId") == name);
  CHECK(status.at("checkpoint").at("bytes").get<std::int64_t>() > 0);
  CHECK(status.at("deadline").at("met") == true);
  CHECK(object.at("metadata").at("finalizers").dump().find("wscp.dev/migration") != std::string::npos);

  // The workspace runs on node-2 only, counting on from where it was frozen.
  CHECK_FALSE(*n1.client().container_exists(name));
  REQUIRE(n2.client().inspect_container(name)->running());
  const long long on_node2 = n2.count(name);
  CHECK(on_node2 >= 10);
  CHECK(wt::eventually(30s, [&] { return n2.count(name) > on_node2; }));

  // The controller's metrics count the move, and promtool accepts them.
  const std::string scraped = controller->metrics();
  CHECK_MESSAGE(scraped.find("wscp_controller_migrations_total{reason=\"Manual\",result=\"Restored\"} 1") !=
                    std::string::npos,
                scraped);
  CHECK(scraped.find("wscp_controller_leader 1") != std::string::npos);
  CHECK(scraped.find("wscp_controller_deadlines_total{outcome=\"met\"} 1") != std::string::npos);
  CHECK(scraped.find("wscp_controller_migration_duration_seconds_count") != std::string::npos);
  auto lint = kt::KubeEnv::run_command({"promtool", "check", "metrics"}, scraped);
  CHECK_MESSAGE(lint.ok(), lint.output());

  // kubectl get wscp shows it; the Events tell the story.
  auto listed = kube.kubectl({"get", "wscp", "-n", team});
  CHECK(listed.out.find("Restored") != std::string::npos);
  auto events = kube.kubectl({"get", "events.events.k8s.io", "-n", team, "-o", "json"});
  REQUIRE(events.ok());
  std::string reasons;
  const json event_list = json::parse(events.out);
  for (const auto& e : event_list.at("items")) reasons += e.value("reason", "") + " ";
  for (const std::string reason : {"Planned", "Checkpointed", "Restoring", "Restored", "Moved"}) {
    CHECK_MESSAGE(reasons.find(reason) != std::string::npos, "no Event ", reason, " in: ", reasons);
  }

  // Deleting it now leaves the workspace where it is: the finalizer goes.
  must(kube.kubectl({"delete", "wscp", "move-" + name, "-n", team, "--wait=false"}), "kubectl delete");
  CHECK(wt::eventually(30s, [&] { return get_object(kube, team, "move-" + name).is_null(); }));
  CHECK(n2.client().inspect_container(name)->running());
  n2.remove(name);
}

TEST_CASE("controller e2e: a workspace of another namespace is refused, and keeps running") {
  Cluster cluster;
  const auto& kube = cluster.kube;
  const std::string& team = cluster.team;
  wt::SandboxNode n1("node-1");
  n1.ensure_testbox();
  at::NodeAgent agent1(cluster.agent("node-1", n1.socket()));
  const std::string name = wt::unique_name("e2e-other");
  n1.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"},
         {{"labels", {{"dev.containers.id", name}, {"wscp.dev/namespace", "someone-else"}}}});
  auto controller = cluster.controller("e2e-2");

  const json resource = {{"apiVersion", "wscp.dev/v1alpha1"},
                         {"kind", "WorkspaceCheckpoint"},
                         {"metadata", {{"name", "steal"}, {"namespace", team}}},
                         {"spec", {{"workspace", {{"node", "node-1"}, {"container", name}}}, {"destination", json::object()}}}};
  must(kube.kubectl({"apply", "-f", "-"}, resource.dump()), "kubectl apply");
  json object;
  REQUIRE_MESSAGE(wt::eventually(120s,
                                 [&] {
                                   object = get_object(kube, team, "steal");
                                   return phase_of(object) == "Failed";
                                 }),
                  object.dump(2), "\n", controller->log());
  const std::string message = object.at("status").value("message", "");
  CHECK(message.find("belongs to namespace someone-else") != std::string::npos);
  CHECK(n1.client().inspect_container(name)->running());
  const long long count = n1.count(name);
  CHECK(wt::eventually(30s, [&] { return n1.count(name) > count; }));
  n1.remove(name);
}

TEST_CASE("controller e2e: the leader killed mid-migration, the standby finishes it without repeating a step") {
  Cluster cluster;
  const auto& kube = cluster.kube;
  const std::string& team = cluster.team;
  wt::SandboxNode n1("node-1"), n2("node-2");
  n1.ensure_testbox();
  n2.ensure_testbox();
  at::NodeAgent agent1(cluster.agent("node-1", n1.socket()));
  at::NodeAgent agent2(cluster.agent("node-2", n2.socket()));
  const std::string name = wt::unique_name("e2e-failover");
  start_counter(n1, name, team);

  auto first = cluster.controller("e2e-first");
  std::string holder;
  REQUIRE_MESSAGE(wt::eventually(30s,
                                 [&] {
                                   auto r = kube.kubectl({"get", "lease", "wscp-controller", "-n",
                                                          cluster.agents_namespace, "-o",
                                                          "jsonpath={.spec.holderIdentity}"});
                                   holder = r.out;
                                   return holder == "e2e-first";
                                 }),
                  holder, "\n", first->log());
  auto standby = cluster.controller("e2e-standby");

  must(kube.kubectl({"apply", "-f", "-"}, move_resource(team, name).dump()), "kubectl apply");
  // Once the checkpoint was asked of node-1's agent, the leader dies.
  std::string uid;
  REQUIRE(wt::eventually(60s, [&] {
    const json o = get_object(kube, team, "move-" + name);
    if (!o.is_object()) return false;
    uid = o.at("metadata").value("uid", "");
    return agent1.operation(uid + "-checkpoint").contains("state");
  }));
  first->process->signal(SIGKILL);

  json object;
  REQUIRE_MESSAGE(wt::eventually(240s,
                                 [&] {
                                   object = get_object(kube, team, "move-" + name);
                                   const std::string phase = phase_of(object);
                                   return phase == "Restored" || phase == "Failed";
                                 }),
                  object.dump(2), "\nfirst:\n", first->log(), "\nstandby:\n", standby->log());
  INFO(object.dump(2));
  INFO(standby->log());
  CHECK(object.at("status").at("phase") == "Restored");
  CHECK(object.at("status").at("runningOn").at("node") == "node-2");
  // The standby led, and found the checkpoint the first one had started
  // rather than starting another.
  CHECK(standby->log().find("\"msg\":\"leading\"") != std::string::npos);
  CHECK(standby->log().find("\"phase\":\"Restored\"") != std::string::npos);  // it finished the move
  for (std::istringstream lines(standby->log()); !lines.eof();) {
    std::string line;
    std::getline(lines, line);
    if (line.find("operation started") != std::string::npos && line.find(uid + "-checkpoint") != std::string::npos)
      CHECK_MESSAGE(line.find("\"created\":false") != std::string::npos, line);
  }
  CHECK_FALSE(*n1.client().container_exists(name));
  REQUIRE(n2.client().inspect_container(name)->running());
  const long long on_node2 = n2.count(name);
  CHECK(wt::eventually(30s, [&] { return n2.count(name) > on_node2; }));
  n2.remove(name);
}

TEST_CASE("controller e2e: a termination taint on node-1 moves each of its workspaces to node-2 exactly once") {
  Cluster cluster;
  const auto& kube = cluster.kube;
  const std::string& team = cluster.team;
  wt::SandboxNode n1("node-1"), n2("node-2");
  n1.ensure_testbox();
  n2.ensure_testbox();
  at::NodeAgent agent1(cluster.agent("node-1", n1.socket()));
  at::NodeAgent agent2(cluster.agent("node-2", n2.socket()));

  // A container and a two-service compose project of the team, and a
  // container that belongs to no namespace (it stays).
  const std::string single = wt::unique_name("taint-a");
  const std::string project = wt::unique_name("taintproj");
  const std::string stray = wt::unique_name("taint-stray");
  start_counter(n1, single, team);
  for (const std::string service : {"dev", "db"}) {
    json labels{{"com.docker.compose.project", project}, {"com.docker.compose.service", service}};
    if (service == "dev") {
      labels["dev.containers.id"] = project;
      labels["wscp.dev/namespace"] = team;
    }
    n1.run(project + "-" + service, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"}, {{"labels", labels}});
  }
  n1.run(stray, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"}, {{"labels", {{"dev.containers.id", stray}}}});
  REQUIRE(wt::eventually(30s, [&] { return n1.count(project + "-db") >= 10 && n1.count(stray) >= 10; }));

  auto controller = cluster.controller("e2e-taint");
  must(kube.kubectl({"taint", "node", "node-1", "karpenter.sh/disrupted:NoSchedule"}), "kubectl taint");

  json list;
  auto phases = [&] {
    auto r = kube.kubectl({"get", "wscp", "-n", team, "-l", "wscp.dev/evacuated-node=node-1", "-o", "json"});
    list = r.ok() ? json::parse(r.out, nullptr, false) : json();
    std::map<std::string, std::string> out;
    if (!list.is_object()) return out;
    for (const auto& o : list.at("items")) out[o.at("metadata").at("name")] = phase_of(o);
    return out;
  };
  REQUIRE_MESSAGE(wt::eventually(300s,
                                 [&] {
                                   auto p = phases();
                                   if (p.size() != 2) return false;
                                   for (const auto& [name, phase] : p)
                                     if (phase != "Restored" && phase != "Failed") return false;
                                   return true;
                                 }),
                  list.dump(2), "\ncontroller:\n", controller->log());
  INFO(list.dump(2));
  INFO(controller->log());
  for (const auto& o : list.at("items")) {
    CHECK(o.at("spec").at("reason") == "SpotInterruption");
    CHECK(o.at("status").at("phase") == "Restored");
    CHECK(o.at("status").at("runningOn").at("node") == "node-2");
  }
  // Each moved once: gone from node-1, counting on node-2.
  for (const std::string& c : {single, project + "-dev", project + "-db"}) {
    CHECK_FALSE(*n1.client().container_exists(c));
    REQUIRE(n2.client().inspect_container(c)->running());
    const long long count = n2.count(c);
    CHECK(count >= 10);
    CHECK(wt::eventually(30s, [&] { return n2.count(c) > count; }));
  }
  // The stray stays, with a warning on the Node.
  CHECK(n1.client().inspect_container(stray)->running());
  auto events = kube.kubectl({"get", "events.events.k8s.io", "-n", "default", "-o", "json"});
  REQUIRE(events.ok());
  CHECK(events.out.find("EvacuationSkipped") != std::string::npos);
  CHECK(events.out.find("workspace " + stray) != std::string::npos);
  // Another pass creates nothing new.
  CHECK(phases().size() == 2);

  must(kube.kubectl({"taint", "node", "node-1", "karpenter.sh/disrupted:NoSchedule-"}), "kubectl taint -");
  n1.remove(stray);
  for (const std::string& c : {single, project + "-dev", project + "-db"}) n2.remove(c);
}

TEST_CASE("controller e2e: the destination's restore fails; the workspace resumes on the source and the status says why") {
  Cluster cluster;
  const auto& kube = cluster.kube;
  const std::string& team = cluster.team;
  wt::SandboxNode n1("node-1"), n2("node-2");
  n1.ensure_testbox();
  n2.ensure_testbox();
  at::NodeAgent agent1(cluster.agent("node-1", n1.socket()));
  // Node-2's agent pauses before Podman's import; the test then takes the
  // workspace's name on node-2, so that the import fails.
  const std::filesystem::path fault_log = cluster.dir.path() / "node-2-faults.log";
  setenv("WSCP_FAULT", "restore.before-import=wait", 1);
  setenv("WSCP_FAULT_LOG", fault_log.c_str(), 1);
  at::NodeAgent agent2(cluster.agent("node-2", n2.socket()));
  unsetenv("WSCP_FAULT");
  unsetenv("WSCP_FAULT_LOG");

  const std::string name = wt::unique_name("e2e-refused");
  start_counter(n1, name, team);
  auto controller = cluster.controller("e2e-restore-fails");
  must(kube.kubectl({"apply", "-f", "-"}, move_resource(team, name).dump()), "kubectl apply");

  REQUIRE_MESSAGE(wt::eventually(120s,
                                 [&] {
                                   return at::read_file_or_empty(fault_log).find("restore.before-import") !=
                                          std::string::npos;
                                 }),
                  controller->log(), "\n", agent2.log());
  n2.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"});  // the name is taken now
  std::ofstream(fault_log.string() + ".restore.before-import.go").put('\n');

  json object;
  REQUIRE_MESSAGE(wt::eventually(180s,
                                 [&] {
                                   object = get_object(kube, team, "move-" + name);
                                   const std::string phase = phase_of(object);
                                   return phase == "Restored" || phase == "Failed";
                                 }),
                  object.dump(2), "\n", controller->log());
  INFO(object.dump(2));
  const json& status = object.at("status");
  CHECK(status.at("phase") == "Failed");
  CHECK(status.at("decision") == "Resume");
  CHECK(status.at("runningOn").at("node") == "node-1");
  const std::string message = status.value("message", "");
  CHECK_MESSAGE(message.find("restore on node-2 failed") != std::string::npos, message);
  bool restored_false = false;
  for (const auto& c : status.at("conditions"))
    if (c.at("type") == "Restored" && c.at("status") == "False" && c.at("reason") == "RestoreFailed") restored_false = true;
  CHECK(restored_false);
  // Running once, on node-1, counting on; node-2 holds only the test's own container.
  REQUIRE(n1.client().inspect_container(name)->running());
  const long long count = n1.count(name);
  CHECK(wt::eventually(30s, [&] { return n1.count(name) > count; }));
  auto events = kube.kubectl({"get", "events.events.k8s.io", "-n", team, "-o", "json"});
  CHECK(events.out.find("RestoreFailed") != std::string::npos);
  n1.remove(name);
  n2.remove(name);
}

namespace {

// Applies a move of a fresh counter and waits until node-1's agent knows
// its checkpoint operation; returns the container's name and the object's uid.
std::pair<std::string, std::string> start_move(const Cluster& cluster, wt::SandboxNode& n1, at::NodeAgent& agent1,
                                               const std::string& prefix) {
  const std::string name = wt::unique_name(prefix);
  start_counter(n1, name, cluster.team);
  must(cluster.kube.kubectl({"apply", "-f", "-"}, move_resource(cluster.team, name).dump()), "kubectl apply");
  std::string uid;
  REQUIRE(wt::eventually(60s, [&] {
    const json o = get_object(cluster.kube, cluster.team, "move-" + name);
    if (!o.is_object()) return false;
    uid = o.at("metadata").value("uid", "");
    return agent1.operation(uid + "-checkpoint").contains("state");
  }));
  return {name, uid};
}

json wait_final(const Cluster& cluster, const std::string& name, const Controller& controller) {
  json object;
  REQUIRE_MESSAGE(wt::eventually(240s,
                                 [&] {
                                   object = get_object(cluster.kube, cluster.team, "move-" + name);
                                   const std::string phase = phase_of(object);
                                   return phase == "Restored" || phase == "Failed";
                                 }),
                  object.dump(2), "\n", controller.log());
  return object;
}

// Where the status says it runs, it runs, and nowhere else.
void check_runs_once(const json& object, const std::string& name, wt::SandboxNode& n1, wt::SandboxNode& n2) {
  INFO(object.dump(2));
  const std::string on = object.at("status").at("runningOn").at("node");
  wt::SandboxNode& there = on == "node-1" ? n1 : n2;
  wt::SandboxNode& other = on == "node-1" ? n2 : n1;
  REQUIRE(there.client().inspect_container(name)->running());
  auto elsewhere = other.client().inspect_container(name);
  CHECK((!elsewhere || !elsewhere->running()));
  const long long count = there.count(name);
  CHECK(wt::eventually(30s, [&] { return there.count(name) > count; }));
}

}  // namespace

TEST_CASE("controller e2e: kube-apiserver restarted mid-migration; the move finishes") {
  Cluster cluster;
  wt::SandboxNode n1("node-1"), n2("node-2");
  n1.ensure_testbox();
  n2.ensure_testbox();
  at::NodeAgent agent1(cluster.agent("node-1", n1.socket()));
  at::NodeAgent agent2(cluster.agent("node-2", n2.socket()));
  auto controller = cluster.controller("e2e-apiserver");
  auto [name, uid] = start_move(cluster, n1, agent1, "e2e-apiserver");
  cluster.kube.restart_apiserver();
  const json object = wait_final(cluster, name, *controller);
  CHECK(object.at("status").at("phase") == "Restored");
  check_runs_once(object, name, n1, n2);
  n2.remove(name);
}

TEST_CASE("controller e2e: the source's agent killed -9 mid-checkpoint and started again; the workspace runs exactly once") {
  Cluster cluster;
  wt::SandboxNode n1("node-1"), n2("node-2");
  n1.ensure_testbox();
  n2.ensure_testbox();
  at::NodeAgent agent1(cluster.agent("node-1", n1.socket()));
  at::NodeAgent agent2(cluster.agent("node-2", n2.socket()));
  auto controller = cluster.controller("e2e-agent-restart");
  auto [name, uid] = start_move(cluster, n1, agent1, "e2e-agentkill");
  agent1.kill();
  agent1.start();
  const json object = wait_final(cluster, name, *controller);
  check_runs_once(object, name, n1, n2);
  const std::string on = object.at("status").at("runningOn").at("node");
  (on == "node-1" ? n1 : n2).remove(name);
}
