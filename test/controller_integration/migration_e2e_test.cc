// The controller end to end: a real kube-apiserver + etcd (fixture "kube"),
// `wscp-agent serve` on both sandbox nodes (real Podman + CRIU) registered
// through their Leases, a directory store they share, and `wscp-controller`
// as a process. Moves: `kubectl apply` of a WorkspaceCheckpoint, tenancy,
// and a node tainted for termination.
#include <doctest/doctest.h>

#include <map>

#include "e2e_cluster.h"

using namespace wscp::controller::testing;

TEST_CASE("controller e2e: kubectl apply moves a workspace from node-1 to node-2; the count continues") {
  Cluster cluster;
  const auto& kube = cluster.kube;
  const std::string& team = cluster.team;
  TwoNodes nodes(cluster);
  auto& n1 = nodes.n1;
  auto& n2 = nodes.n2;

  const std::string name = wt::unique_name("e2e-counter");
  start_counter(n1, name, team);
  auto controller = cluster.controller("e2e-1", {"--keep-last", "1"});
  cluster.apply(move_resource(team, name));
  const json object = wait_final(cluster, "move-" + name, [&] {
    return "controller:\n" + controller->log() + "\nagent-1:\n" + nodes.agent1->log() + "\nagent-2:\n" +
           nodes.agent2->log();
  });
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
  for (const std::string reason : {"Planned", "Restored", "Moved"}) {
    CHECK_MESSAGE(reasons.find(reason) != std::string::npos, "no Event ", reason, " in: ", reasons);
  }
  // Cut through when a pass saw the checkpoint running; a checkpoint that
  // ended before any pass looked goes the sequential way.
  const bool cut_through = reasons.find("CutThrough") != std::string::npos;
  const bool sequential =
      reasons.find("Checkpointed") != std::string::npos && reasons.find("Restoring") != std::string::npos;
  CHECK_MESSAGE(cut_through != sequential, "Events: ", reasons);

  // Moved back by a second resource: with --keep-last 1 the first one,
  // now older than the newest finished move of the workspace, is deleted,
  // and node-2's agent deletes its archive (its image stays for the grace)
  // before the finalizer goes.
  const auto archive_of = [&](const json& o) {
    return std::filesystem::path(cluster.store) / "workspaces" / name / "checkpoints" /
           o.at("status").at("checkpoint").at("id").get<std::string>();
  };
  const std::filesystem::path first_archive = archive_of(object);
  REQUIRE(std::filesystem::exists(first_archive / "manifest.json"));
  cluster.apply(move_resource(team, name, "node-2", "node-1", "back-" + name));
  const json back = wait_final(cluster, "back-" + name, [&] { return controller->log(); });
  INFO(back.dump(2));
  REQUIRE(phase_of(back) == "Restored");
  CHECK(wt::eventually(60s, [&] { return get_object(kube, team, "move-" + name).is_null(); }));
  CHECK_FALSE(std::filesystem::exists(first_archive / "manifest.json"));
  CHECK_FALSE(std::filesystem::is_empty(std::filesystem::path(cluster.store) / "images"));
  CHECK_MESSAGE(nodes.agent2->operation(object.at("metadata").at("uid").get<std::string>() + "-deletearchive")
                        .value("state", "") == "succeeded",
                nodes.agent2->log());
  REQUIRE(n1.client().inspect_container(name)->running());
  CHECK_FALSE(*n2.client().container_exists(name));

  // Deleting the newest one leaves the workspace where it is; node-1's
  // agent deletes its archive, then the finalizer goes.
  const std::filesystem::path archive = archive_of(back);
  REQUIRE(std::filesystem::exists(archive / "manifest.json"));
  must(kube.kubectl({"delete", "wscp", "back-" + name, "-n", team, "--wait=false"}), "kubectl delete");
  CHECK(wt::eventually(60s, [&] { return get_object(kube, team, "back-" + name).is_null(); }));
  CHECK(n1.client().inspect_container(name)->running());
  CHECK_FALSE(std::filesystem::exists(archive / "manifest.json"));
  CHECK((!std::filesystem::exists(archive) || std::filesystem::is_empty(archive)));
  const auto after = kube.kubectl({"get", "events.events.k8s.io", "-n", team, "-o", "json"});
  REQUIRE(after.ok());
  for (const std::string reason : {"Retention", "ArchiveDeleted"})
    CHECK_MESSAGE(after.out.find("\"" + reason + "\"") != std::string::npos, "no Event ", reason, " in ", after.out);
  CHECK_MESSAGE(nodes.agent1->operation(back.at("metadata").at("uid").get<std::string>() + "-deletearchive")
                        .value("state", "") == "succeeded",
                nodes.agent1->log());
  n1.remove(name);
}

TEST_CASE("controller e2e: a workspace of another namespace is refused, and keeps running; the resource expires") {
  Cluster cluster;
  const std::string& team = cluster.team;
  TwoNodes nodes(cluster, TwoNodes::kNode1Only);
  auto& n1 = nodes.n1;
  const std::string name = wt::unique_name("e2e-other");
  start_counter(n1, name, "someone-else");
  auto controller = cluster.controller("e2e-2");

  const json resource = {{"apiVersion", "wscp.dev/v1alpha1"},
                         {"kind", "WorkspaceCheckpoint"},
                         {"metadata", {{"name", "steal"}, {"namespace", team}}},
                         {"spec",
                          {{"workspace", {{"node", "node-1"}, {"container", name}}},
                           {"destination", json::object()},
                           {"ttlSecondsAfterFinished", 3}}}};
  cluster.apply(resource);
  const json object = wait_final(cluster, "steal", [&] { return controller->log(); }, 120s);
  CHECK(phase_of(object) == "Failed");
  const std::string message = object.at("status").value("message", "");
  CHECK(message.find("belongs to namespace someone-else") != std::string::npos);
  // ttlSecondsAfterFinished: it is gone a few seconds after it ended.
  CHECK(wt::eventually(60s, [&] { return get_object(cluster.kube, team, "steal").is_null(); }));
  CHECK(n1.client().inspect_container(name)->running());
  const long long count = n1.count(name);
  CHECK(wt::eventually(30s, [&] { return n1.count(name) > count; }));
  n1.remove(name);
}

TEST_CASE("controller e2e: spec.restoreFrom restores a kept checkpoint on node-2, and releases node-1") {
  Cluster cluster;
  const auto& kube = cluster.kube;
  const std::string& team = cluster.team;
  TwoNodes nodes(cluster);
  auto& n1 = nodes.n1;
  auto& n2 = nodes.n2;
  const std::string name = wt::unique_name("e2e-kept");
  start_counter(n1, name, team);
  auto controller = cluster.controller("e2e-restore-from");

  // A checkpoint without a destination: the workspace stays stopped on node-1.
  json keep = move_resource(team, name, "node-1", "node-2", "keep-" + name);
  keep["spec"].erase("destination");
  cluster.apply(keep);
  json kept;
  REQUIRE_MESSAGE(wt::eventually(240s,
                                 [&] {
                                   kept = get_object(kube, team, "keep-" + name);
                                   return phase_of(kept) == "Checkpointed" && kept["status"].contains("finishedAt");
                                 }),
                  kept.dump(2), "\n", controller->log());
  REQUIRE_FALSE(n1.client().inspect_container(name)->running());
  const long long frozen = n1.count(name);
  REQUIRE(frozen >= 10);

  json back = {{"apiVersion", "wscp.dev/v1alpha1"},
               {"kind", "WorkspaceCheckpoint"},
               {"metadata", {{"name", "back-" + name}, {"namespace", team}}},
               {"spec", {{"restoreFrom", {{"name", "keep-" + name}}}, {"destination", {{"node", "node-2"}}}}}};
  cluster.apply(back);
  const json restored = wait_final(cluster, "back-" + name, [&] {
    return "controller:\n" + controller->log() + "\nagent-2:\n" + nodes.agent2->log();
  });
  INFO(restored.dump(2));
  REQUIRE(phase_of(restored) == "Restored");
  CHECK(restored.at("status").at("checkpoint").at("id") == kept.at("status").at("checkpoint").at("id"));
  CHECK(restored.at("status").at("runningOn").at("node") == "node-2");
  // node-2 counts on from where node-1 froze it; node-1's stopped copy is gone.
  REQUIRE(n2.client().inspect_container(name)->running());
  CHECK(n2.count(name) >= frozen);
  CHECK(wt::eventually(30s, [&] { return n2.count(name) > frozen; }));
  CHECK_FALSE(*n1.client().container_exists(name));
  n2.remove(name);
}

TEST_CASE("controller e2e: a termination taint on node-1 moves each of its workspaces to node-2 exactly once") {
  Cluster cluster;
  const auto& kube = cluster.kube;
  const std::string& team = cluster.team;
  TwoNodes nodes(cluster);
  auto& n1 = nodes.n1;
  auto& n2 = nodes.n2;

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
  start_counter(n1, stray, "");
  REQUIRE(wt::eventually(30s, [&] { return n1.count(project + "-db") >= 10; }));

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

TEST_CASE("controller e2e: a spot notice to node-1's agent; the controller adopts its checkpoint and restores it on node-2") {
  at::Emulator emulator;
  Cluster cluster;
  const auto& kube = cluster.kube;
  const std::string& team = cluster.team;
  TwoNodes nodes(cluster, TwoNodes::kBoth, "",
                 "  default_window: 60s\n  resume_grace: 10s\n"
                 "  aws: {enabled: true, base_url: \"" + emulator.url() + "\", poll_interval: 200ms}\n");
  auto& n1 = nodes.n1;
  auto& n2 = nodes.n2;
  const std::string name = wt::unique_name("spot");
  start_counter(n1, name, team);
  auto controller = cluster.controller("e2e-adopt");

  // The notice reaches node-1's agent only (no taint): it checkpoints at
  // once, on its own, and the controller moves what it made.
  emulator.post("/_emulator/aws/instance-action", json{{"action", "terminate"}, {"time", at::rfc3339_in(45s)}});
  json object;
  auto settled = [&] {
    auto r = kube.kubectl({"get", "wscp", "-n", team, "-l", "wscp.dev/evacuated-node=node-1", "-o", "json"});
    auto list = r.ok() ? json::parse(r.out, nullptr, false) : json();
    if (!list.is_object() || list.at("items").size() != 1) return false;
    object = list.at("items").at(0);
    const auto phase = phase_of(object);
    return phase == "Restored" || phase == "Failed";
  };
  REQUIRE_MESSAGE(wt::eventually(300s, settled), object.dump(2), "\ncontroller:\n", controller->log(),
                  "\nagent-1:\n", nodes.agent1->log(), "\nagent-2:\n", nodes.agent2->log());
  INFO(object.dump(2));
  INFO(controller->log());
  const auto& status = object.at("status");
  CHECK(status.at("phase") == "Restored");
  CHECK(object.at("spec").at("reason") == "SpotInterruption");
  CHECK(object.at("spec").contains("deadline"));  // the notice's
  CHECK(status.at("deadline").contains("met"));
  REQUIRE(status.contains("adopted"));
  // The archive restored is the agent's own: the workspace was dumped once.
  const std::string agent_checkpoint = status.at("adopted").at("id");
  CHECK(status.at("checkpoint").at("id") == agent_checkpoint);
  // The controller never asked node-1's agent for a checkpoint of its own.
  const std::string uid = object.at("metadata").at("uid");
  CHECK(nodes.agent1->get("/v1/operations/" + uid + "-checkpoint").first == 404);
  const json evacuation = nodes.agent1->get("/v1/evacuation").second;
  CHECK(at::evacuation_entry(evacuation, name).at("checkpointId") == agent_checkpoint);
  CHECK(at::evacuation_entry(evacuation, name).at("operation") == status.at("adopted").at("operation"));
  CHECK(status.at("runningOn").at("node") == "node-2");
  // Moved once: gone from node-1, counting on node-2.
  CHECK_FALSE(*n1.client().container_exists(name));
  REQUIRE(n2.client().inspect_container(name)->running());
  const long long count = n2.count(name);
  CHECK(count >= 10);
  CHECK(wt::eventually(30s, [&] { return n2.count(name) > count; }));
  // Past the notice's deadline and the grace, the agent would resume what no
  // restore claimed: it finds this one restored elsewhere and leaves it.
  CHECK(wt::eventually(120s, [&] {
    return at::evacuation_entry(nodes.agent1->get("/v1/evacuation").second, name).at("state") == "moved";
  }));
  CHECK_FALSE(*n1.client().container_exists(name));
  CHECK(n2.client().inspect_container(name)->running());
  n2.remove(name);
}
