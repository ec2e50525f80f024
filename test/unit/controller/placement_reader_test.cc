#include "controller/placement_reader.h"

#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lease_fixture.h"

using namespace wscp;
using namespace wscp::controller;
using namespace wscp::controller::testing;
using namespace std::chrono_literals;
using agent::inventory::Workspace;
using agent::inventory::WorkspaceContainer;
using nlohmann::json;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const std::string kLabel = "wscp.dev/namespace";

// ---- fakes ----

// What one node's agent answers to GET /v1/workspaces.
struct AgentScript {
  Result<NodeWorkspaces> answer = NodeWorkspaces{};
  int lists = 0;
};

class FakeAgent final : public AgentApi {
 public:
  FakeAgent(std::string node, std::shared_ptr<AgentScript> script) : node_(std::move(node)), script_(std::move(script)) {}
  const std::string& node() const override { return node_; }
  Result<StartedOperation> start(std::string_view, const agent::operations::Request&) override { return unused(); }
  Result<agent::operations::Operation> get(std::string_view) override { return unused(); }
  Result<agent::operations::Operation> cancel(std::string_view) override { return unused(); }
  Result<PreflightVerdict> preflight(const PreflightQuery&) override { return unused(); }
  Result<NodeWorkspaces> list_workspaces() override {
    ++script_->lists;
    return script_->answer;
  }

 private:
  static Error unused() { return Error(ErrorCode::kInternal, "not used by the placement reader"); }
  std::string node_;
  std::shared_ptr<AgentScript> script_;
};

class FakeClients final : public AgentClientFactory {
 public:
  std::shared_ptr<AgentScript> script(const std::string& node) {
    auto& s = scripts_[node];
    if (!s) s = std::make_shared<AgentScript>();
    return s;
  }
  Result<std::unique_ptr<AgentApi>> client_for(std::string_view node) override {
    asked.emplace_back(node);
    auto it = scripts_.find(std::string(node));
    if (it == scripts_.end()) {
      return Error(ErrorCode::kNotFound, "no agent registered for node " + std::string(node));
    }
    return std::unique_ptr<AgentApi>(std::make_unique<FakeAgent>(std::string(node), it->second));
  }
  bool was_asked(const std::string& node) const {
    return std::find(asked.begin(), asked.end(), node) != asked.end();
  }

  std::vector<std::string> asked;  // client_for's arguments, in order

 private:
  std::map<std::string, std::shared_ptr<AgentScript>> scripts_;
};

// ---- builders ----

// A running workspace of namespace `ns` ("" = unlabelled) whose primary
// container is "<id>-app" (id "<id>-app-id") with a second container
// "<id>-db" (id "<id>-db-id").
Workspace workspace(const std::string& id, const std::string& ns = "team-a", bool running = true) {
  Workspace w;
  w.id = id;
  w.project = id + "-project";
  w.primary = id + "-app";
  w.containers = {WorkspaceContainer{id + "-app", id + "-app-id", "running"},
                  WorkspaceContainer{id + "-db", id + "-db-id", "running"}};
  w.running = running;
  w.memory_bytes = 512ull << 20;
  if (!ns.empty()) w.labels[kLabel] = ns;
  w.labels["dev.containers.id"] = id;
  return w;
}

json node_json(const std::string& name, bool ready = true, bool unschedulable = false, const std::string& zone = "zone-a") {
  json node = {{"apiVersion", "v1"},
               {"kind", "Node"},
               {"metadata",
                {{"name", name},
                 {"labels", {{"kubernetes.io/hostname", name}, {"topology.kubernetes.io/zone", zone}}}}},
               {"spec", json::object()},
               {"status",
                {{"conditions",
                  json::array({{{"type", "MemoryPressure"}, {"status", "False"}},
                               {{"type", "Ready"}, {"status", ready ? "True" : "False"}}})}}}};
  if (unschedulable) node["spec"]["unschedulable"] = true;
  return node;
}

kube::WorkspaceRef by_container(const std::string& container, std::optional<std::string> node = std::nullopt) {
  kube::WorkspaceRef ref;
  ref.node = std::move(node);
  ref.container = container;
  return ref;
}

kube::WorkspaceRef by_id(const std::string& id) {
  kube::WorkspaceRef ref;
  ref.workspace_id = id;
  return ref;
}

CheckpointObject object_for(std::optional<kube::WorkspaceRef> ref,
                            std::optional<kube::Destination> destination = std::nullopt,
                            const std::string& ns = "team-a") {
  CheckpointObject o;
  o.ns = ns;
  o.name = "move-it";
  o.uid = "0b8f0c4e-2d7e-4b8e-9d0a-5b2f1f1e7c11";
  o.generation = 1;
  o.spec.workspace = std::move(ref);
  o.spec.destination = std::move(destination);
  return o;
}

kube::Destination automatic() { return kube::Destination{}; }
kube::Destination to_node(const std::string& node) {
  kube::Destination d;
  d.node = node;
  return d;
}

// The cluster as the reader sees it: Nodes, the agents' Leases, and their
// agents' answers.
struct World {
  std::shared_ptr<SettableClock> clock = std::make_shared<SettableClock>();
  AgentDirectory directory{clock};
  FakeClients clients;
  std::vector<json> nodes;
  int node_lists = 0;
  ClusterPlacementOptions options;
  std::map<std::string, json> checkpoints;  // "<ns>/<name>" -> WorkspaceCheckpoint
  bool can_read_checkpoints = true;

  // A live agent on `node` (with its Lease) listing `workspaces`.
  void agent(const std::string& node, std::vector<Workspace> workspaces) {
    REQUIRE(directory.upsert(agent_lease(node, clock->wall - 1s)));
    clients.script(node)->answer = NodeWorkspaces{std::move(workspaces), {}};
  }
  // An agent on `node` whose list fails with `error`.
  void failing_agent(const std::string& node, Error error) {
    REQUIRE(directory.upsert(agent_lease(node, clock->wall - 1s)));
    clients.script(node)->answer = std::move(error);
  }
  int lists_of(const std::string& node) { return clients.script(node)->lists; }

  Result<Placement> place(const CheckpointObject& object) {
    ClusterPlacementReader reader(
        [this] {
          ++node_lists;
          return nodes;
        },
        directory, clients, options,
        can_read_checkpoints ? ClusterPlacementReader::CheckpointGetter(
                                   [this](const std::string& ns, const std::string& name) -> Result<json> {
                                     auto it = checkpoints.find(ns + "/" + name);
                                     if (it == checkpoints.end()) return Error(ErrorCode::kNotFound, "not found");
                                     return it->second;
                                   })
                             : ClusterPlacementReader::CheckpointGetter());
    return reader.place(object);
  }
};

std::string describe(const Result<Placement>& r) {
  if (r.ok()) return "placed on " + r->source_node + (r->destination_node ? " -> " + *r->destination_node : "");
  return r.error().describe();
}

}  // namespace

// ---- workspace_namespace ----

TEST_CASE("workspace_namespace: the label wins over a mapping") {
  TenancyPolicy policy;
  policy.mapping = {{"ws1", "team-b"}, {"ws1-project", "team-c"}};
  auto ns = workspace_namespace(workspace("ws1", "team-a"), policy);
  REQUIRE_MESSAGE(ns.ok(), (ns.ok() ? std::string() : ns.error().describe()));
  CHECK(*ns == "team-a");
}

TEST_CASE("workspace_namespace: an empty label is refused, even when the workspace is mapped") {
  TenancyPolicy policy;
  policy.mapping = {{"ws1", "team-b"}};
  Workspace w = workspace("ws1", "");
  w.labels[kLabel] = "";
  auto ns = workspace_namespace(w, policy);
  REQUIRE_FALSE(ns.ok());
  CHECK(ns.error().code() == ErrorCode::kPermissionDenied);
  CHECK(has(ns.error().message(), kLabel));
  CHECK(has(ns.error().message(), "empty"));
}

TEST_CASE("workspace_namespace: an unlabelled workspace is mapped by its workspace id") {
  TenancyPolicy policy;
  policy.mapping = {{"ws1", "team-b"}, {"other", "team-z"}};
  auto ns = workspace_namespace(workspace("ws1", ""), policy);
  REQUIRE_MESSAGE(ns.ok(), (ns.ok() ? std::string() : ns.error().describe()));
  CHECK(*ns == "team-b");
}

TEST_CASE("workspace_namespace: an unlabelled workspace is mapped by its compose project") {
  TenancyPolicy policy;
  policy.mapping = {{"ws1-project", "team-c"}, {"other", "team-z"}};
  auto ns = workspace_namespace(workspace("ws1", ""), policy);
  REQUIRE_MESSAGE(ns.ok(), (ns.ok() ? std::string() : ns.error().describe()));
  CHECK(*ns == "team-c");
}

TEST_CASE("workspace_namespace: neither labelled nor mapped is refused, naming the label key") {
  TenancyPolicy policy;
  policy.namespace_label = "example.com/tenant";
  policy.mapping = {{"other", "team-z"}};
  // Labelled, but under another key than the policy's: that does not count.
  auto ns = workspace_namespace(workspace("ws1", "team-a"), policy);
  REQUIRE_FALSE(ns.ok());
  CHECK(ns.error().code() == ErrorCode::kPermissionDenied);
  CHECK(has(ns.error().message(), "example.com/tenant"));
  CHECK_FALSE(has(ns.error().message(), kLabel));
}

TEST_CASE("workspace_namespace: the policy's own label key is read") {
  TenancyPolicy policy;
  policy.namespace_label = "example.com/tenant";
  Workspace w = workspace("ws1", "team-a");
  w.labels["example.com/tenant"] = "team-t";
  auto ns = workspace_namespace(w, policy);
  REQUIRE_MESSAGE(ns.ok(), (ns.ok() ? std::string() : ns.error().describe()));
  CHECK(*ns == "team-t");
}

// ---- place(): the source named in the spec ----

TEST_CASE("placement reader: a named source node's agent is asked, matching the primary container") {
  World world;
  world.agent("node-a", {workspace("other"), workspace("ws1")});
  world.agent("node-b", {workspace("ws1")});  // would conflict if asked
  auto placed = world.place(object_for(by_container("ws1-app", "node-a")));
  REQUIRE_MESSAGE(placed.ok(), describe(placed));
  CHECK(placed->source_node == "node-a");
  CHECK_FALSE(placed->destination_node);
  CHECK(world.clients.asked == std::vector<std::string>{"node-a"});
  CHECK(world.lists_of("node-a") == 1);
  CHECK(world.lists_of("node-b") == 0);
}

TEST_CASE("placement reader: another container of the workspace matches by name") {
  World world;
  world.agent("node-a", {workspace("other", "team-z"), workspace("ws1")});
  auto placed = world.place(object_for(by_container("ws1-db", "node-a")));
  REQUIRE_MESSAGE(placed.ok(), describe(placed));
  CHECK(placed->source_node == "node-a");
}

TEST_CASE("placement reader: a container matches by its id") {
  World world;
  world.agent("node-a", {workspace("other", "team-z"), workspace("ws1")});
  auto placed = world.place(object_for(by_container("ws1-db-id", "node-a")));
  REQUIRE_MESSAGE(placed.ok(), describe(placed));
  CHECK(placed->source_node == "node-a");
  // "other" is team-z's: had it matched, the namespace check would refuse.
  auto other = world.place(object_for(by_container("other-app-id", "node-a")));
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().code() == ErrorCode::kPermissionDenied);
}

TEST_CASE("placement reader: a workspace id and a compose project match on a named node") {
  World world;
  world.agent("node-a", {workspace("other", "team-z"), workspace("ws1")});
  kube::WorkspaceRef ref = by_id("ws1");
  ref.node = "node-a";
  auto placed = world.place(object_for(ref));
  REQUIRE_MESSAGE(placed.ok(), describe(placed));
  CHECK(placed->source_node == "node-a");

  kube::WorkspaceRef project;
  project.node = "node-a";
  project.compose_project = "ws1-project";
  placed = world.place(object_for(project));
  REQUIRE_MESSAGE(placed.ok(), describe(placed));
  CHECK(placed->source_node == "node-a");
}

TEST_CASE("placement reader: a workspace its node does not list is kNotFound naming the node") {
  World world;
  world.agent("node-a", {workspace("ws1")});
  auto placed = world.place(object_for(by_container("ws9-app", "node-a")));
  REQUIRE_FALSE(placed.ok());
  CHECK(placed.error().code() == ErrorCode::kNotFound);
  CHECK(has(placed.error().message(), "node-a"));
  CHECK(has(placed.error().message(), "ws9-app"));
}

TEST_CASE("placement reader: the named node's agent failing is passed on") {
  World world;
  world.failing_agent("node-a", Error(ErrorCode::kUnavailable, "agent of node node-a: connection refused"));
  auto placed = world.place(object_for(by_container("ws1-app", "node-a")));
  REQUIRE_FALSE(placed.ok());
  CHECK(placed.error().code() == ErrorCode::kUnavailable);
  CHECK(has(placed.error().message(), "connection refused"));
}

TEST_CASE("placement reader: a named source node with no agent registered is kUnavailable") {
  World world;
  world.agent("node-b", {workspace("ws1")});
  auto placed = world.place(object_for(by_container("ws1-app", "node-a")));
  REQUIRE_FALSE(placed.ok());
  CHECK_MESSAGE(placed.error().code() == ErrorCode::kUnavailable, describe(placed));
  CHECK(has(placed.error().message(), "node-a"));
  CHECK(world.lists_of("node-b") == 0);
}

TEST_CASE("placement reader: a workspace that is not running is kInvalidArgument") {
  World world;
  world.agent("node-a", {workspace("ws1", "team-a", /*running=*/false)});
  auto placed = world.place(object_for(by_container("ws1-app", "node-a"), automatic()));
  REQUIRE_FALSE(placed.ok());
  CHECK(placed.error().code() == ErrorCode::kInvalidArgument);
  CHECK(has(placed.error().message(), "not running"));
  CHECK(has(placed.error().message(), "node-a"));
}

TEST_CASE("placement reader: another namespace's workspace is kPermissionDenied naming both namespaces") {
  World world;
  world.agent("node-a", {workspace("ws1", "team-b")});
  auto placed = world.place(object_for(by_container("ws1-app", "node-a"), automatic(), "team-a"));
  REQUIRE_FALSE(placed.ok());
  CHECK(placed.error().code() == ErrorCode::kPermissionDenied);
  CHECK(has(placed.error().message(), "team-a"));
  CHECK(has(placed.error().message(), "team-b"));
}

TEST_CASE("placement reader: an unlabelled, unmapped workspace is kPermissionDenied naming the label key") {
  World world;
  world.agent("node-a", {workspace("ws1", "")});
  auto placed = world.place(object_for(by_container("ws1-app", "node-a")));
  REQUIRE_FALSE(placed.ok());
  CHECK(placed.error().code() == ErrorCode::kPermissionDenied);
  CHECK(has(placed.error().message(), kLabel));
  CHECK(has(placed.error().message(), "team-a"));

  // Mapped in the tenancy settings, it may be moved.
  world.options.tenancy.mapping["ws1"] = "team-a";
  placed = world.place(object_for(by_container("ws1-app", "node-a")));
  REQUIRE_MESSAGE(placed.ok(), describe(placed));
  CHECK(placed->source_node == "node-a");
}

TEST_CASE("placement reader: without spec.destination no destination is chosen") {
  World world;
  world.nodes = {node_json("node-a"), node_json("node-b")};
  world.agent("node-a", {workspace("ws1")});
  world.agent("node-b", {});
  auto placed = world.place(object_for(by_container("ws1-app", "node-a")));
  REQUIRE_MESSAGE(placed.ok(), describe(placed));
  CHECK(placed->source_node == "node-a");
  CHECK_FALSE(placed->destination_node.has_value());
}

// ---- place(): the source asked of every live agent ----

TEST_CASE("placement reader: a workspace found on exactly one live agent is on that node") {
  World world;
  world.agent("node-a", {workspace("other")});
  world.agent("node-b", {workspace("ws1")});
  world.agent("node-c", {});
  auto placed = world.place(object_for(by_id("ws1")));
  REQUIRE_MESSAGE(placed.ok(), describe(placed));
  CHECK(placed->source_node == "node-b");
  CHECK(world.lists_of("node-a") == 1);
  CHECK(world.lists_of("node-b") == 1);
  CHECK(world.lists_of("node-c") == 1);
}

TEST_CASE("placement reader: a workspace found on two agents is kConflict naming both") {
  World world;
  world.agent("node-a", {workspace("ws1")});
  world.agent("node-b", {workspace("ws1")});
  auto placed = world.place(object_for(by_id("ws1")));
  REQUIRE_FALSE(placed.ok());
  CHECK(placed.error().code() == ErrorCode::kConflict);
  CHECK(has(placed.error().message(), "node-a"));
  CHECK(has(placed.error().message(), "node-b"));
  CHECK(has(placed.error().message(), "spec.workspace.node"));
}

TEST_CASE("placement reader: a workspace no agent lists is kNotFound") {
  World world;
  world.agent("node-a", {workspace("other")});
  world.agent("node-b", {});
  auto placed = world.place(object_for(by_id("ws1")));
  REQUIRE_FALSE(placed.ok());
  CHECK(placed.error().code() == ErrorCode::kNotFound);
  CHECK(has(placed.error().message(), "ws1"));
}

TEST_CASE("placement reader: an agent whose Lease expired is not asked") {
  World world;
  world.agent("node-a", {});
  // node-b's agent would list it, but its Lease expired a minute ago.
  REQUIRE(world.directory.upsert(agent_lease("node-b", world.clock->wall - 60s)));
  world.clients.script("node-b")->answer = NodeWorkspaces{{workspace("ws1")}, {}};
  auto placed = world.place(object_for(by_id("ws1")));
  REQUIRE_FALSE(placed.ok());
  CHECK(placed.error().code() == ErrorCode::kNotFound);
  CHECK_FALSE(world.clients.was_asked("node-b"));
  CHECK(world.clients.was_asked("node-a"));
}

TEST_CASE("placement reader: not found while an agent did not answer is kUnavailable naming it") {
  World world;
  world.agent("node-a", {workspace("other")});
  world.failing_agent("node-b", Error(ErrorCode::kUnavailable, "agent of node node-b: timed out"));
  auto placed = world.place(object_for(by_id("ws1")));
  REQUIRE_FALSE(placed.ok());
  CHECK(placed.error().code() == ErrorCode::kUnavailable);
  CHECK(has(placed.error().message(), "node-b"));
  CHECK_FALSE(has(placed.error().message(), "node-a"));
}

TEST_CASE("placement reader: found on one agent while another did not answer is that node") {
  World world;
  world.agent("node-a", {workspace("ws1")});
  world.failing_agent("node-b", Error(ErrorCode::kUnavailable, "agent of node node-b: timed out"));
  auto placed = world.place(object_for(by_id("ws1")));
  REQUIRE_MESSAGE(placed.ok(), describe(placed));
  CHECK(placed->source_node == "node-a");
}

// ---- place(): the destination ----

TEST_CASE("placement reader: a ready node with a live agent is chosen as destination") {
  World world;
  world.nodes = {node_json("node-a"), node_json("node-b"), node_json("node-c", /*ready=*/false)};
  world.agent("node-a", {workspace("ws1")});
  world.agent("node-b", {});
  world.agent("node-c", {});
  auto placed = world.place(object_for(by_container("ws1-app", "node-a"), automatic()));
  REQUIRE_MESSAGE(placed.ok(), describe(placed));
  CHECK(placed->source_node == "node-a");
  REQUIRE(placed->destination_node.has_value());
  CHECK(*placed->destination_node == "node-b");
  CHECK(world.node_lists >= 1);
}

TEST_CASE("placement reader: a named destination node is chosen") {
  World world;
  world.nodes = {node_json("node-a"), node_json("node-b"), node_json("node-c")};
  world.agent("node-a", {workspace("ws1")});
  world.agent("node-b", {});
  world.agent("node-c", {});
  auto placed = world.place(object_for(by_container("ws1-app", "node-a"), to_node("node-c")));
  REQUIRE_MESSAGE(placed.ok(), describe(placed));
  REQUIRE(placed->destination_node.has_value());
  CHECK(*placed->destination_node == "node-c");
}

TEST_CASE("placement reader: a named destination whose agent has no Lease is kUnavailable") {
  World world;
  world.nodes = {node_json("node-a"), node_json("node-b")};
  world.agent("node-a", {workspace("ws1")});
  auto placed = world.place(object_for(by_container("ws1-app", "node-a"), to_node("node-b")));
  REQUIRE_FALSE(placed.ok());
  CHECK(placed.error().code() == ErrorCode::kUnavailable);
  CHECK(has(placed.error().message(), "node-b"));
}

TEST_CASE("placement reader: the only other node's agent having no Lease is kUnavailable (transient)") {
  // The source node is among the Nodes, as it is in a cluster.
  World world;
  world.nodes = {node_json("node-a"), node_json("node-b")};
  world.agent("node-a", {workspace("ws1")});
  auto placed = world.place(object_for(by_container("ws1-app", "node-a"), automatic()));
  REQUIRE_FALSE(placed.ok());
  CHECK_MESSAGE(placed.error().code() == ErrorCode::kUnavailable, describe(placed));
  CHECK(has(placed.error().message(), "node-b"));
}

TEST_CASE("placement reader: no agent on the only candidate, the source Node not listed, is kUnavailable") {
  // As the case above, without the source node's refusal among the refusals.
  World world;
  world.nodes = {node_json("node-b")};
  world.agent("node-a", {workspace("ws1")});
  auto placed = world.place(object_for(by_container("ws1-app", "node-a"), automatic()));
  REQUIRE_FALSE(placed.ok());
  CHECK_MESSAGE(placed.error().code() == ErrorCode::kUnavailable, describe(placed));
  CHECK(has(placed.error().message(), "node-b"));
}

TEST_CASE("placement reader: no agent on the only node matching the selector is kUnavailable (transient)") {
  // node-c does not match the selector; node-b does and has no agent yet.
  World world;
  world.nodes = {node_json("node-b", true, false, "zone-b"), node_json("node-c", true, false, "zone-a")};
  world.agent("node-a", {workspace("ws1")});
  world.agent("node-c", {});
  kube::Destination selector;
  selector.node_selector = {{"topology.kubernetes.io/zone", "zone-b"}};
  auto placed = world.place(object_for(by_container("ws1-app", "node-a"), selector));
  REQUIRE_FALSE(placed.ok());
  CHECK_MESSAGE(placed.error().code() == ErrorCode::kUnavailable, describe(placed));
  CHECK(has(placed.error().message(), "node-b"));
}

TEST_CASE("placement reader: no node besides the source is kUnavailable (a node may join)") {
  World world;
  world.nodes = {node_json("node-a")};
  world.agent("node-a", {workspace("ws1")});
  auto placed = world.place(object_for(by_container("ws1-app", "node-a"), automatic()));
  REQUIRE_FALSE(placed.ok());
  CHECK_MESSAGE(placed.error().code() == ErrorCode::kUnavailable, describe(placed));
}

TEST_CASE("placement reader: the only candidate being cordoned is kInvalidArgument") {
  World world;
  world.nodes = {node_json("node-a"), node_json("node-b", /*ready=*/true, /*unschedulable=*/true)};
  world.agent("node-a", {workspace("ws1")});
  world.agent("node-b", {});
  auto placed = world.place(object_for(by_container("ws1-app", "node-a"), automatic()));
  REQUIRE_FALSE(placed.ok());
  CHECK(placed.error().code() == ErrorCode::kInvalidArgument);
  CHECK(has(placed.error().message(), "node-b"));
  CHECK(has(placed.error().message(), "cordoned"));
}

// A finished WorkspaceCheckpoint in team-a that checkpointed ws1 on node-a
// (archive wscp-earlier in store main); `running`: its WorkspaceRunning.
json earlier_checkpoint(kube::ConditionStatus running = kube::ConditionStatus::kFalse, bool finished = true) {
  kube::WorkspaceCheckpointStatus s;
  s.phase = finished ? kube::CheckpointPhase::kCheckpointed : kube::CheckpointPhase::kCheckpointing;
  s.workspace_id = "ws1";
  s.source_node = "node-a";
  if (finished) {
    s.checkpoint = kube::CheckpointRecord{"wscp-earlier", "main", 1024, std::nullopt, false};
    s.finished_at = kube::Time{} + std::chrono::hours(500000);
  }
  kube::Condition c;
  c.type = std::string(kube::kConditionWorkspaceRunning);
  c.status = running;
  c.reason = "StoppedForCheckpoint";
  c.last_transition_time = kube::Time{} + std::chrono::hours(500000);
  s.conditions.push_back(c);
  if (running == kube::ConditionStatus::kTrue) s.running_on = kube::RunningOn{"node-a", std::nullopt, std::nullopt};
  return {{"apiVersion", "wscp.dev/v1alpha1"},
          {"kind", "WorkspaceCheckpoint"},
          {"metadata", {{"name", "earlier"}, {"namespace", "team-a"}, {"uid", "u-earlier"}}},
          {"spec", {{"workspace", {{"node", "node-a"}, {"container", "ws1-app"}}}}},
          {"status", s.to_json()}};
}

CheckpointObject restore_earlier(std::optional<kube::Destination> destination = kube::Destination{}) {
  CheckpointObject object = object_for(std::nullopt, std::move(destination));
  object.spec.restore_from = kube::RestoreFrom{"earlier"};
  return object;
}

TEST_CASE("placement reader: spec.restoreFrom restores the named resource's archive, from its source, elsewhere") {
  World world;
  world.nodes = {node_json("node-a"), node_json("node-b")};
  world.agent("node-b", {});
  world.checkpoints["team-a/earlier"] = earlier_checkpoint();
  auto placed = world.place(restore_earlier());
  REQUIRE_MESSAGE(placed.ok(), describe(placed));
  CHECK(placed->source_node == "node-a");
  CHECK(placed->workspace_id == "ws1");
  CHECK(placed->destination_node == "node-b");
  REQUIRE(placed->restore_from);
  CHECK(placed->restore_from->id == "wscp-earlier");
  CHECK(placed->restore_from->store == "main");
  CHECK(world.clients.asked.empty());  // no workspace is looked for: it is stopped
}

TEST_CASE("placement reader: spec.restoreFrom of a resource that is not there, or in another namespace, is kNotFound") {
  World world;
  world.nodes = {node_json("node-a"), node_json("node-b")};
  world.agent("node-b", {});
  world.checkpoints["team-b/earlier"] = earlier_checkpoint();
  auto placed = world.place(restore_earlier());
  REQUIRE_FALSE(placed.ok());
  CHECK(placed.error().code() == ErrorCode::kNotFound);
  CHECK(has(placed.error().message(), "earlier"));
  CHECK(has(placed.error().message(), "team-a"));
}

TEST_CASE("placement reader: spec.restoreFrom waits for the named resource to finish") {
  World world;
  world.nodes = {node_json("node-a"), node_json("node-b")};
  world.agent("node-b", {});
  world.checkpoints["team-a/earlier"] = earlier_checkpoint(kube::ConditionStatus::kTrue, false);
  auto placed = world.place(restore_earlier());
  REQUIRE_FALSE(placed.ok());
  CHECK(placed.error().code() == ErrorCode::kUnavailable);
  CHECK(has(placed.error().message(), "has not finished"));
}

TEST_CASE("placement reader: spec.restoreFrom of a workspace that runs is refused: it would run twice") {
  World world;
  world.nodes = {node_json("node-a"), node_json("node-b")};
  world.agent("node-b", {});
  for (auto running : {kube::ConditionStatus::kTrue, kube::ConditionStatus::kUnknown}) {
    world.checkpoints["team-a/earlier"] = earlier_checkpoint(running);
    auto placed = world.place(restore_earlier());
    REQUIRE_FALSE(placed.ok());
    CHECK(placed.error().code() == ErrorCode::kInvalidArgument);
    CHECK(has(placed.error().message(), "would run it twice"));
  }
}

TEST_CASE("placement reader: spec.restoreFrom without a way to read resources is kUnsupported") {
  World world;
  world.nodes = {node_json("node-a"), node_json("node-b")};
  world.agent("node-b", {});
  world.can_read_checkpoints = false;
  auto placed = world.place(restore_earlier(to_node("node-b")));
  REQUIRE_FALSE(placed.ok());
  CHECK(placed.error().code() == ErrorCode::kUnsupported);
  CHECK(has(placed.error().message(), "restoreFrom"));
}
