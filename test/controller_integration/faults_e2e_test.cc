// The controller end to end under faults (same stage as
// migration_e2e_test.cc): the leader killed, the destination's restore
// failing, the API server restarted, the source's agent killed; each time
// the workspace runs exactly once, where the status says.
#include <doctest/doctest.h>

#include <signal.h>
#include <stdlib.h>

#include <fstream>
#include <sstream>

#include "e2e_cluster.h"

using namespace wscp::controller::testing;

TEST_CASE("controller e2e: the leader killed mid-migration, the standby finishes it without repeating a step") {
  Cluster cluster;
  const auto& kube = cluster.kube;
  const std::string& team = cluster.team;
  TwoNodes nodes(cluster);
  auto& n1 = nodes.n1;
  auto& n2 = nodes.n2;
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

  cluster.apply(move_resource(team, name));
  // Once the checkpoint was asked of node-1's agent, the leader dies.
  std::string uid;
  REQUIRE(wt::eventually(60s, [&] {
    const json o = get_object(kube, team, "move-" + name);
    if (!o.is_object()) return false;
    uid = o.at("metadata").value("uid", "");
    return nodes.agent1->operation(uid + "-checkpoint").contains("state");
  }));
  first->process->signal(SIGKILL);

  const json object = wait_final(cluster, "move-" + name,
                                [&] { return "first:\n" + first->log() + "\nstandby:\n" + standby->log(); });
  INFO(object.dump(2));
  INFO(standby->log());
  CHECK(object.at("status").at("phase") == "Restored");
  CHECK(object.at("status").at("runningOn").at("node") == "node-2");
  // The standby led, and found the checkpoint the first one had started
  // rather than starting another.
  CHECK(standby->log().find("\"msg\":\"leading\"") != std::string::npos);
  // It finished the move; its log line follows the write the test saw.
  CHECK(wt::eventually(10s, [&] { return standby->log().find("\"phase\":\"Restored\"") != std::string::npos; }));
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

TEST_CASE("controller e2e: the destination's restore fails; the workspace resumes on the source and the status says why") {
  Cluster cluster;
  const auto& kube = cluster.kube;
  const std::string& team = cluster.team;
  TwoNodes nodes(cluster, TwoNodes::kNode1Only);
  auto& n1 = nodes.n1;
  auto& n2 = nodes.n2;
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
  cluster.apply(move_resource(team, name));

  REQUIRE_MESSAGE(wt::eventually(120s,
                                 [&] {
                                   return at::read_file_or_empty(fault_log).find("restore.before-import") !=
                                          std::string::npos;
                                 }),
                  controller->log(), "\n", agent2.log());
  n2.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"});  // the name is taken now
  std::ofstream(fault_log.string() + ".restore.before-import.go").put('\n');

  const json object = wait_final(cluster, "move-" + name, [&] { return controller->log() + "\n" + agent2.log(); });
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

TEST_CASE("controller e2e: kube-apiserver restarted mid-migration; the move finishes") {
  Cluster cluster;
  // Node-1's agent holds the checkpoint before its dump while the API
  // server restarts.
  TwoNodes nodes(cluster, TwoNodes::kBoth, "checkpoint.before-dump=wait");
  auto controller = cluster.controller("e2e-apiserver");
  auto [name, uid] = start_move(cluster, nodes, "e2e-apiserver");
  REQUIRE(wt::eventually(60s, [&] { return nodes.node1_reached("checkpoint.before-dump"); }));
  cluster.kube.restart_apiserver();
  nodes.release_node1("checkpoint.before-dump");
  const json object = wait_final(cluster, "move-" + name, [&] { return controller->log(); });
  CHECK(object.at("status").at("phase") == "Restored");
  check_runs_once(object, name, nodes);
  nodes.n2.remove(name);
}

TEST_CASE("controller e2e: the source's agent killed -9 mid-checkpoint and started again; the checkpoint is taken again and the move finishes") {
  Cluster cluster;
  // Node-1's agent dies (SIGKILL) once the frozen workspace's archive is
  // being uploaded; it is started again without the fault.
  TwoNodes nodes(cluster, TwoNodes::kBoth, "checkpoint.mid-upload=kill");
  auto controller = cluster.controller("e2e-agent-restart");
  auto [name, uid] = start_move(cluster, nodes, "e2e-agentkill", /*wait_for_checkpoint=*/false);
  REQUIRE(wt::eventually(60s, [&] { return nodes.node1_reached("checkpoint.mid-upload"); }));
  const long long before_kill = nodes.n1.count(name);  // stopped, mid-upload
  CHECK(before_kill > 0);
  nodes.agent1->start();
  const json object = wait_final(cluster, "move-" + name, [&] { return controller->log(); });
  INFO(object.dump(2));
  // The interrupted checkpoint was undone on node-1: by the agent's own
  // recovery, or, when node-2's cut-through restore held the claim at the
  // restart (a race with the kill), by the controller's resume once it had
  // cancelled that restore. Then the controller checkpointed again, as
  // wscp-<uid>-r1, and the move went on.
  const json op = nodes.agent1->operation(uid + "-checkpoint");
  const std::string recovered = op.at("recovery").at("action").get<std::string>();
  INFO("recovery: ", recovered);
  CHECK((recovered == "resumed-on-source" || recovered == "awaiting-restorer"));
  // The controller's resume (tried again while a cancelled restore still held the claim).
  bool resumed = false;
  for (const std::string attempt : {"", "-a1", "-a2"}) {
    const json resume = nodes.agent1->operation(uid + "-resume" + attempt);
    resumed = resumed || (resume.is_object() && resume.value("state", "") == "succeeded");
  }
  CHECK_MESSAGE(resumed, nodes.agent1->log());
  CHECK(nodes.agent1->wait_operation(uid + "-checkpoint-r1").at("state") == "succeeded");
  CHECK(nodes.agent2->wait_operation(uid + "-restore-r1").at("state") == "succeeded");
  const json& status = object.at("status");
  CHECK(status.at("phase") == "Restored");
  CHECK(status.at("checkpointRetakes") == 1);
  CHECK(status.at("checkpoint").at("id") == "wscp-" + uid + "-r1");
  CHECK(status.at("runningOn").at("node") == "node-2");
  auto events = cluster.kube.kubectl({"get", "events.events.k8s.io", "-n", cluster.team, "-o", "json"});
  CHECK(events.out.find("Retaking") != std::string::npos);
  check_runs_once(object, name, nodes);
  // One workspace throughout: its count went on from where node-1 had it.
  CHECK(nodes.n2.count(name) > before_kill);
  nodes.n2.remove(name);
}

TEST_CASE("controller e2e: the checkpoint fails under a cut-through restore; the controller cancels the restore and the source resumes") {
  Cluster cluster;
  // Node-1's checkpoint pauses once the archive is being uploaded; by then
  // node-2 restores beside it. The test cancels the checkpoint there.
  TwoNodes nodes(cluster, TwoNodes::kBoth, "checkpoint.mid-upload=wait");
  auto controller = cluster.controller("e2e-cut-through-cancel");
  auto [name, uid] = start_move(cluster, nodes, "e2e-ckfail", /*wait_for_checkpoint=*/false);
  REQUIRE(wt::eventually(60s, [&] { return nodes.node1_reached("checkpoint.mid-upload"); }));
  REQUIRE_MESSAGE(wt::eventually(60s, [&] { return nodes.agent2->operation(uid + "-restore").value("state", "") == "running"; }),
                  controller->log());
  const auto [status, cancelled] = nodes.agent1->call("DELETE", "/v1/operations/" + uid + "-checkpoint");
  REQUIRE_MESSAGE((status == 200 || status == 202), cancelled.dump());
  nodes.release_node1("checkpoint.mid-upload");

  // Well inside the restore's own follow timeout (120 s without new bytes).
  const json object = wait_final(cluster, "move-" + name, [&] { return controller->log(); }, 90s);
  INFO(object.dump(2));
  CHECK(object.at("status").at("phase") == "Failed");
  CHECK(object.at("status").at("decision") == "Resume");
  CHECK(object.at("status").at("runningOn").at("node") == "node-1");
  CHECK(nodes.agent1->wait_operation(uid + "-checkpoint").at("state") != "succeeded");
  // Cancelled by the controller (a restore that gave up by itself fails instead).
  CHECK(nodes.agent2->wait_operation(uid + "-restore").at("state") == "cancelled");
  auto events = cluster.kube.kubectl({"get", "events.events.k8s.io", "-n", cluster.team, "-o", "json"});
  CHECK(events.out.find("CheckpointFailed") != std::string::npos);
  check_runs_once(object, name, nodes);
  nodes.n1.remove(name);
}
