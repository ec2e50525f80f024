#include <doctest/doctest.h>

#include "controller/evacuation_plan.h"

#include <map>

using namespace wscp;
using namespace wscp::controller;

namespace {

agent::inventory::Workspace workspace(const std::string& id, const std::string& ns, bool running = true,
                                      const std::string& project = "") {
  agent::inventory::Workspace w;
  w.id = id;
  w.primary = id;
  w.project = project;
  w.running = running;
  if (!ns.empty()) w.labels["wscp.dev/namespace"] = ns;
  return w;
}

EvacuationInput input() {
  EvacuationInput in;
  in.node = "ip-10-0-3-17.eu-west-1.compute.internal";
  in.node_uid = "4a1e0c8e-0000-4000-8000-000000000001";
  in.why = Evacuation{kube::CheckpointReason::kSpotInterruption, "tainted for termination (karpenter.sh/disrupted)"};
  in.workspaces = {workspace("dev-alice", "team-a"), workspace("shop", "team-b", true, "shop"),
                   workspace("stray", ""), workspace("stopped", "team-a", false)};
  in.deadline = kube::parse_rfc3339("2030-01-01T10:02:00Z").value();
  return in;
}

}  // namespace

TEST_CASE("evacuation: one WorkspaceCheckpoint per running workspace with a namespace, valid for the CRD") {
  const auto plan = plan_evacuation(input(), TenancyPolicy{});
  REQUIRE(plan.create.size() == 2);
  const auto& first = plan.create[0];
  CHECK(first["metadata"]["namespace"] == "team-a");
  CHECK(first["metadata"]["labels"]["wscp.dev/evacuated-node"] == "ip-10-0-3-17-eu-west-1-compute-internal");
  CHECK(first["spec"]["workspace"]["node"] == "ip-10-0-3-17.eu-west-1.compute.internal");
  CHECK(first["spec"]["workspace"]["workspaceId"] == "dev-alice");
  CHECK(first["spec"]["reason"] == "SpotInterruption");
  CHECK(first["spec"]["deadline"] == "2030-01-01T10:02:00Z");
  CHECK(first["spec"]["destination"] == nlohmann::json::object());
  // What the API server would accept: the spec passes the CRD's own rules.
  for (const auto& o : plan.create) {
    auto spec = kube::WorkspaceCheckpointSpec::from_json(o["spec"]);
    CHECK_MESSAGE(spec.ok(), (spec.ok() ? "" : spec.error().describe()));
  }
  const auto& second = plan.create[1];
  CHECK(second["metadata"]["namespace"] == "team-b");
  CHECK(second["spec"]["workspace"]["composeProject"] == "shop");
  CHECK_FALSE(second["spec"]["workspace"].contains("workspaceId"));

  REQUIRE(plan.skipped.size() == 2);
  CHECK(plan.skipped[0].find("workspace stray") == 0);
  CHECK(plan.skipped[0].find("wscp.dev/namespace") != std::string::npos);
  CHECK(plan.skipped[1] == "workspace stopped: not running");
}

TEST_CASE("evacuation: names are deterministic per node incarnation and workspace, and valid object names") {
  const std::string a = evacuation_name("node-1", "uid-1", "dev-alice");
  CHECK(a == evacuation_name("node-1", "uid-1", "dev-alice"));
  CHECK(a != evacuation_name("node-1", "uid-2", "dev-alice"));  // the node came back as another Node
  CHECK(a != evacuation_name("node-1", "uid-1", "dev-bob"));
  CHECK(a.rfind("evac-node-1-dev-alice-", 0) == 0);
  // Hostile or long parts still make a DNS subdomain of at most 253 characters.
  const std::string odd = evacuation_name(std::string(300, 'N'), "u", "Ws_With.Odd--Chars__" + std::string(300, 'x'));
  CHECK(odd.size() <= 253);
  for (char c : odd) CHECK(((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'));
  CHECK(odd.front() != '-');
  CHECK(odd.back() != '-');
}

TEST_CASE("evacuation: a mapped workspace goes to its mapped namespace; the store is passed on") {
  TenancyPolicy tenancy;
  tenancy.mapping["stray"] = "ops";
  auto in = input();
  in.store = "s3-main";
  in.why = Evacuation{kube::CheckpointReason::kDrain, "cordoned"};
  const auto plan = plan_evacuation(in, tenancy);
  REQUIRE(plan.create.size() == 3);
  CHECK(plan.create[2]["metadata"]["namespace"] == "ops");
  for (const auto& o : plan.create) {
    CHECK(o["spec"]["store"] == "s3-main");
    CHECK(o["spec"]["reason"] == "Drain");
  }
}

TEST_CASE("evacuation: workspaces the agent checkpoints on its own are moved even when stopped, from its store") {
  auto in = input();
  in.store = "s3-main";
  EvacuationInfo agent;
  agent.document = {{"store", "agent-store"}, {"checkpointId", "evac-1"}};
  agent.workspaces = {{"stopped", "evac-1", "checkpointed", "op-stopped"},
                      {"dev-alice", "evac-1", "checkpointing", "op-alice"},
                      {"shop", "evac-1", "resumed", "op-shop"}};  // back in place: not the agent's any more
  in.agent_evacuation = agent;
  const auto plan = plan_evacuation(in, TenancyPolicy{});
  REQUIRE(plan.create.size() == 3);
  std::map<std::string, std::string> store_of;
  for (const auto& o : plan.create) {
    const auto& w = o["spec"]["workspace"];
    store_of[w.value("workspaceId", w.value("composeProject", ""))] = o["spec"].value("store", "");
  }
  CHECK(store_of.at("stopped") == "agent-store");
  CHECK(store_of.at("dev-alice") == "agent-store");
  CHECK(store_of.at("shop") == "s3-main");
  CHECK(plan.skipped.size() == 1);  // the stray one, without a namespace

  CHECK(agent.adoptable("stopped", false)->operation == "op-stopped");
  CHECK(agent.adoptable("stopped", true) == nullptr);  // running again: that checkpoint is stale
  CHECK(agent.adoptable("dev-alice", true)->operation == "op-alice");
  CHECK(agent.adoptable("shop", false) == nullptr);
  CHECK(agent.adoptable("nobody", false) == nullptr);
  CHECK(agent.store() == "agent-store");
  CHECK(EvacuationInfo{}.store().empty());
}

TEST_CASE("evacuation: an agent's termination notice empties its node; a rebalance recommendation does not") {
  const WallTime now = std::chrono::system_clock::now();
  CHECK_FALSE(evacuation_for_notice(std::nullopt, now));
  NoticeInfo rebalance{"aws", "rebalance", "r-1", "", std::nullopt};
  CHECK_FALSE(evacuation_for_notice(rebalance, now));
  NoticeInfo spot{"aws", "termination", "instance-action/terminate", "terminate", now + std::chrono::minutes(2)};
  auto why = evacuation_for_notice(spot, now);
  REQUIRE(why);
  CHECK(why->reason == kube::CheckpointReason::kSpotInterruption);
  CHECK(why->detail == "its agent reports a termination notice (aws terminate)");
  // Still while its workspaces may be moving; not once the node outlived it.
  CHECK(evacuation_for_notice(spot, now + std::chrono::minutes(5)));
  CHECK_FALSE(evacuation_for_notice(spot, now + std::chrono::minutes(2) + kNoticeOutlivedAfter + std::chrono::seconds(1)));
}
