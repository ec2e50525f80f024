#include "controller/placement.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <functional>

#include <nlohmann/json.hpp>

namespace wscp::controller {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::uint64_t kMiB = 1ull << 20;
constexpr std::uint64_t kGiB = 1ull << 30;

NodeView ready_node(std::string name) {
  NodeView node;
  node.name = std::move(name);
  node.ready = kube::ConditionStatus::kTrue;
  return node;
}

AgentState healthy_agent(std::optional<std::uint64_t> memory = 8 * kGiB, std::optional<std::uint32_t> workspaces = 0) {
  AgentState agent;
  agent.live = true;
  agent.ready = true;
  agent.capacity.memory_available_bytes = memory;
  agent.capacity.disk_free_bytes = {{"/var/lib/containers/storage", 100 * kGiB}, {"/var/tmp", 20 * kGiB}};
  agent.capacity.workspaces_running = workspaces;
  return agent;
}

// A request with healthy nodes of these names (each with an agent) and the
// workspace on "source".
PlacementRequest request_with(const std::vector<std::string>& names) {
  PlacementRequest request;
  request.source_node = "source";
  for (const auto& name : names) {
    request.nodes.push_back(ready_node(name));
    request.agents[name] = healthy_agent();
  }
  return request;
}

Taint taint(std::string key, TaintEffect effect, std::string value = "") {
  return Taint{std::move(key), std::move(value), effect};
}

// A Node as `kubectl get node -o json` shows it (trimmed).
json sample_node() {
  return json::parse(R"({
    "apiVersion": "v1",
    "kind": "Node",
    "metadata": {
      "name": "node-1",
      "uid": "7d0c4c52-2f1e-4c1e-9f5e-3b1f2e0c1a11",
      "labels": {"kubernetes.io/hostname": "node-1", "topology.kubernetes.io/zone": "eu-west-1a"},
      "annotations": {"node.alpha.kubernetes.io/ttl": "0"}
    },
    "spec": {
      "podCIDR": "10.244.1.0/24",
      "unschedulable": true,
      "taints": [
        {"key": "karpenter.sh/disrupted", "effect": "NoSchedule"},
        {"key": "dedicated", "value": "gpu", "effect": "NoExecute", "timeAdded": "2026-11-23T11:45:00Z"}
      ]
    },
    "status": {
      "capacity": {"cpu": "4", "memory": "16374584Ki"},
      "conditions": [
        {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
        {"type": "Ready", "status": "True", "reason": "KubeletReady", "lastHeartbeatTime": "2026-11-23T11:45:00Z"}
      ]
    }
  })");
}

}  // namespace

// ---- parse_node ----

TEST_CASE("parse_node reads a Node as the API server returns it") {
  auto node = parse_node(sample_node());
  REQUIRE_MESSAGE(node.ok(), node.error().describe());
  CHECK(node->name == "node-1");
  CHECK(node->labels.at("topology.kubernetes.io/zone") == "eu-west-1a");
  CHECK(node->labels.size() == 2);
  CHECK(node->unschedulable);
  CHECK(node->ready == kube::ConditionStatus::kTrue);
  REQUIRE(node->taints.size() == 2);
  CHECK(node->taints[0] == taint("karpenter.sh/disrupted", TaintEffect::kNoSchedule));
  CHECK(node->taints[1] == taint("dedicated", TaintEffect::kNoExecute, "gpu"));
}

TEST_CASE("parse_node: absent and null fields take their defaults") {
  struct Case {
    const char* what;
    json node;
  };
  const std::vector<Case> cases = {
      {"name only", {{"metadata", {{"name", "n1"}}}}},
      {"nulls", {{"metadata", {{"name", "n1"}, {"labels", nullptr}}},
                 {"spec", {{"taints", nullptr}, {"unschedulable", nullptr}}},
                 {"status", {{"conditions", nullptr}}}}},
      {"no Ready condition", {{"metadata", {{"name", "n1"}}},
                              {"status", {{"conditions", {{{"type", "DiskPressure"}, {"status", "False"}}}}}}}},
      {"an item of a NodeList (no kind)", {{"metadata", {{"name", "n1"}}}, {"spec", json::object()}}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    auto node = parse_node(c.node);
    REQUIRE_MESSAGE(node.ok(), node.error().describe());
    CHECK(node->name == "n1");
    CHECK(node->labels.empty());
    CHECK(node->taints.empty());
    CHECK_FALSE(node->unschedulable);
    CHECK(node->ready == kube::ConditionStatus::kUnknown);
  }
}

TEST_CASE("parse_node reads the Ready condition's three statuses") {
  for (const auto& [text, status] : std::vector<std::pair<std::string, kube::ConditionStatus>>{
           {"True", kube::ConditionStatus::kTrue},
           {"False", kube::ConditionStatus::kFalse},
           {"Unknown", kube::ConditionStatus::kUnknown}}) {
    CAPTURE(text);
    json j = sample_node();
    j["status"]["conditions"][1]["status"] = text;
    auto node = parse_node(j);
    REQUIRE_MESSAGE(node.ok(), node.error().describe());
    CHECK(node->ready == status);
  }
}

TEST_CASE("parse_node refuses hostile Nodes with an error naming the node and the field") {
  struct Case {
    const char* what;
    std::function<void(json&)> spoil;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"a list", [](json& j) { j = json::array({1, 2}); }, "Node: must be an object, not a list"},
      {"a string", [](json& j) { j = "node-1"; }, "Node: must be an object, not a string"},
      {"another kind", [](json& j) { j["kind"] = "Pod"; }, "Node: kind is \"Pod\", not \"Node\""},
      {"no metadata", [](json& j) { j.erase("metadata"); }, "Node: metadata: is required"},
      {"metadata a string", [](json& j) { j["metadata"] = "x"; }, "Node: metadata: must be an object, not a string"},
      {"no name", [](json& j) { j["metadata"].erase("name"); }, "Node: metadata.name: is required"},
      {"name a number", [](json& j) { j["metadata"]["name"] = 7; },
       "Node: metadata.name: must be a string, not an integer"},
      {"empty name", [](json& j) { j["metadata"]["name"] = ""; }, "Node: metadata.name: must not be empty"},
      {"name too long", [](json& j) { j["metadata"]["name"] = std::string(254, 'n'); },
       "Node: metadata.name: has 254 characters; at most 253 are allowed"},
      {"labels a list", [](json& j) { j["metadata"]["labels"] = json::array({"a"}); },
       "node node-1: metadata.labels: must be an object, not a list"},
      {"a label's value a number", [](json& j) { j["metadata"]["labels"]["zone"] = 3; },
       "node node-1: metadata.labels.zone: must be a string, not an integer"},
      {"spec a list", [](json& j) { j["spec"] = json::array(); }, "node node-1: spec: must be an object, not a list"},
      {"unschedulable a string", [](json& j) { j["spec"]["unschedulable"] = "true"; },
       "node node-1: spec.unschedulable: must be true or false, not a string"},
      {"taints an object", [](json& j) { j["spec"]["taints"] = json::object(); },
       "node node-1: spec.taints: must be a list, not an object"},
      {"a taint a string", [](json& j) { j["spec"]["taints"][1] = "dedicated=gpu:NoExecute"; },
       "node node-1: spec.taints[1]: must be an object, not a string"},
      {"a taint without key", [](json& j) { j["spec"]["taints"][0].erase("key"); },
       "node node-1: spec.taints[0].key: is required"},
      {"a taint's empty key", [](json& j) { j["spec"]["taints"][0]["key"] = ""; },
       "node node-1: spec.taints[0].key: must not be empty"},
      {"a taint's key a boolean", [](json& j) { j["spec"]["taints"][0]["key"] = true; },
       "node node-1: spec.taints[0].key: must be a string, not a boolean"},
      {"a taint's value a number", [](json& j) { j["spec"]["taints"][1]["value"] = 1.5; },
       "node node-1: spec.taints[1].value: must be a string, not a number"},
      {"a taint without effect", [](json& j) { j["spec"]["taints"][1].erase("effect"); },
       "node node-1: spec.taints[1].effect: is required"},
      {"an unknown effect", [](json& j) { j["spec"]["taints"][1]["effect"] = "NoWay"; },
       "node node-1: spec.taints[1].effect: 'NoWay' is not one of NoSchedule, PreferNoSchedule, NoExecute"},
      {"status a number", [](json& j) { j["status"] = 1; }, "node node-1: status: must be an object, not an integer"},
      {"conditions an object", [](json& j) { j["status"]["conditions"] = json::object(); },
       "node node-1: status.conditions: must be a list, not an object"},
      {"a condition a list", [](json& j) { j["status"]["conditions"][0] = json::array(); },
       "node node-1: status.conditions[0]: must be an object, not a list"},
      {"a condition without type", [](json& j) { j["status"]["conditions"][0].erase("type"); },
       "node node-1: status.conditions[0].type: is required"},
      {"Ready without status", [](json& j) { j["status"]["conditions"][1].erase("status"); },
       "node node-1: status.conditions[1].status: is required"},
      {"Ready's status a boolean", [](json& j) { j["status"]["conditions"][1]["status"] = true; },
       "node node-1: status.conditions[1].status: must be a string, not a boolean"},
      {"Ready's status unknown", [](json& j) { j["status"]["conditions"][1]["status"] = "Maybe"; },
       "node node-1: status.conditions[1].status: condition status 'Maybe' is not one of True, False, Unknown"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    json j = sample_node();
    c.spoil(j);
    auto node = parse_node(j);
    REQUIRE_FALSE(node.ok());
    CHECK(node.error().code() == ErrorCode::kInvalidArgument);
    CHECK(node.error().message() == c.message);
  }
}

TEST_CASE("parse_node never throws, whatever type any field of a Node has") {
  const json replacements = json::array({nullptr, true, 42, -1, 1.5, "", "x", json::array(), json::array({1}),
                                         json::object(), json::object({{"a", 1}})});
  const json sample = sample_node();
  const json flat = sample.flatten();
  std::size_t tried = 0;
  for (const auto& leaf : flat.items()) {
    // Every leaf and every object or list above it.
    for (json::json_pointer at(leaf.key()); !at.empty(); at = at.parent_pointer()) {
      for (const auto& replacement : replacements) {
        json spoiled = sample;
        spoiled[at] = replacement;
        CAPTURE(at.to_string());
        CAPTURE(replacement.dump());
        Result<NodeView> node = Error(ErrorCode::kInternal, "not run");
        CHECK_NOTHROW(node = parse_node(spoiled));
        if (!node.ok()) {
          CHECK(node.error().code() == ErrorCode::kInvalidArgument);
          const bool names_node = node.error().message().starts_with("node node-1: ") ||
                                  node.error().message().starts_with("Node: ");
          CHECK(names_node);
        }
        ++tried;
      }
    }
  }
  CHECK(tried > 300);
}

// ---- one node, each rule ----

TEST_CASE("each rule rules a node out with its reason") {
  struct Case {
    const char* what;
    std::function<void(NodeView&, std::optional<AgentState>&, PlacementRequest&, PlacementPolicy&)> set_up;
    std::optional<Ineligibility> why;  // nullopt: eligible
    std::string reason;
  };
  using N = NodeView;
  using A = std::optional<AgentState>;
  using R = PlacementRequest;
  using P = PlacementPolicy;
  const std::vector<Case> cases = {
      {"a healthy node", [](N&, A&, R&, P&) {}, std::nullopt, ""},
      {"the source node", [](N& n, A&, R&, P&) { n.name = "source"; }, Ineligibility::kSourceNode,
       "the workspace runs there"},
      {"selector: label missing", [](N&, A&, R& r, P&) { r.destination.node_selector = {{"zone", "a"}}; },
       Ineligibility::kSelectorMismatch, "no label zone, nodeSelector wants 'a'"},
      {"selector: other value",
       [](N& n, A&, R& r, P&) {
         n.labels = {{"zone", "b"}, {"pool", "big"}};
         r.destination.node_selector = {{"pool", "big"}, {"zone", "a"}};
       },
       Ineligibility::kSelectorMismatch, "label zone is 'b', nodeSelector wants 'a'"},
      {"selector: matching",
       [](N& n, A&, R& r, P&) {
         n.labels = {{"zone", "a"}, {"pool", "big"}, {"extra", "x"}};
         r.destination.node_selector = {{"pool", "big"}, {"zone", "a"}};
       },
       std::nullopt, ""},
      {"Ready False", [](N& n, A&, R&, P&) { n.ready = kube::ConditionStatus::kFalse; }, Ineligibility::kNodeNotReady,
       "node not Ready (Ready=False)"},
      {"Ready Unknown", [](N& n, A&, R&, P&) { n.ready = kube::ConditionStatus::kUnknown; },
       Ineligibility::kNodeNotReady, "node not Ready (Ready=Unknown)"},
      {"AWS spot interruption taint",
       [](N& n, A&, R&, P&) { n.taints = {taint("aws-node-termination-handler/spot-itn", TaintEffect::kNoExecute)}; },
       Ineligibility::kTerminationTaint, "tainted for termination (aws-node-termination-handler/spot-itn)"},
      {"Karpenter disruption taint",
       [](N& n, A&, R&, P&) { n.taints = {taint("karpenter.sh/disrupted", TaintEffect::kNoSchedule)}; },
       Ineligibility::kTerminationTaint, "tainted for termination (karpenter.sh/disrupted)"},
      {"GKE termination taint, even PreferNoSchedule",
       [](N& n, A&, R&, P&) {
         n.taints = {taint("cloud.google.com/impending-node-termination", TaintEffect::kPreferNoSchedule)};
       },
       Ineligibility::kTerminationTaint, "tainted for termination (cloud.google.com/impending-node-termination)"},
      {"Cluster Autoscaler deletion taint",
       [](N& n, A&, R&, P&) { n.taints = {taint("ToBeDeletedByClusterAutoscaler", TaintEffect::kNoSchedule, "1700000000")}; },
       Ineligibility::kTerminationTaint, "tainted for termination (ToBeDeletedByClusterAutoscaler)"},
      {"a termination taint is never tolerated",
       [](N& n, A&, R&, P& p) {
         n.taints = {taint("karpenter.sh/disrupted", TaintEffect::kNoSchedule)};
         p.tolerated_taint_keys = {"karpenter.sh/disrupted"};
       },
       Ineligibility::kTerminationTaint, "tainted for termination (karpenter.sh/disrupted)"},
      {"a configured termination key",
       [](N& n, A&, R&, P& p) {
         n.taints = {taint("example.com/reclaim", TaintEffect::kPreferNoSchedule)};
         p.termination_taint_keys = {"example.com/reclaim"};
       },
       Ineligibility::kTerminationTaint, "tainted for termination (example.com/reclaim)"},
      {"the agent reports a termination notice", [](N&, A& a, R&, P&) { a->termination_notice = true; },
       Ineligibility::kTerminationNotice, "agent reports a termination notice"},
      {"cordoned", [](N& n, A&, R&, P&) { n.unschedulable = true; }, Ineligibility::kUnschedulable,
       "cordoned (spec.unschedulable)"},
      {"NoSchedule taint",
       [](N& n, A&, R&, P&) {
         n.taints = {taint("soft", TaintEffect::kPreferNoSchedule), taint("dedicated", TaintEffect::kNoSchedule, "gpu")};
       },
       Ineligibility::kTaint, "tainted dedicated=gpu:NoSchedule"},
      {"NoExecute taint without value",
       [](N& n, A&, R&, P&) { n.taints = {taint("node.kubernetes.io/unreachable", TaintEffect::kNoExecute)}; },
       Ineligibility::kTaint, "tainted node.kubernetes.io/unreachable:NoExecute"},
      {"PreferNoSchedule taint only",
       [](N& n, A&, R&, P&) { n.taints = {taint("soft", TaintEffect::kPreferNoSchedule)}; }, std::nullopt, ""},
      {"a tolerated NoSchedule taint",
       [](N& n, A&, R&, P& p) {
         n.taints = {taint("dedicated", TaintEffect::kNoSchedule, "workspaces")};
         p.tolerated_taint_keys = {"dedicated"};
       },
       std::nullopt, ""},
      {"a tolerated and an untolerated taint",
       [](N& n, A&, R&, P& p) {
         n.taints = {taint("dedicated", TaintEffect::kNoSchedule), taint("other", TaintEffect::kNoExecute)};
         p.tolerated_taint_keys = {"dedicated"};
       },
       Ineligibility::kTaint, "tainted other:NoExecute"},
      {"no agent", [](N&, A& a, R&, P&) { a.reset(); }, Ineligibility::kNoAgent, "no agent"},
      {"agent not live", [](N&, A& a, R&, P&) { a->live = false; }, Ineligibility::kAgentNotLive,
       "agent not live (its Lease has expired)"},
      {"agent not ready", [](N&, A& a, R&, P&) { a->ready = false; }, Ineligibility::kAgentNotReady,
       "agent not ready"},
      {"not enough memory",
       [](N&, A& a, R& r, P&) {
         a->capacity.memory_available_bytes = 512 * kMiB;
         r.needs.memory_bytes = kGiB;
       },
       Ineligibility::kInsufficientMemory, "512 MiB memory free, workspace needs 1.2 GiB (1 GiB + 20% headroom)"},
      {"memory: the workspace's size itself is not enough",
       [](N&, A& a, R& r, P&) {
         a->capacity.memory_available_bytes = kGiB;
         r.needs.memory_bytes = kGiB;
       },
       Ineligibility::kInsufficientMemory, "1 GiB memory free, workspace needs 1.2 GiB (1 GiB + 20% headroom)"},
      {"memory: exactly size plus headroom",
       [](N&, A& a, R& r, P&) {
         a->capacity.memory_available_bytes = 6 * kGiB;
         r.needs.memory_bytes = 5 * kGiB;
       },
       std::nullopt, ""},
      {"memory: one byte short of size plus headroom",
       [](N&, A& a, R& r, P&) {
         a->capacity.memory_available_bytes = 6 * kGiB - 1;
         r.needs.memory_bytes = 5 * kGiB;
       },
       Ineligibility::kInsufficientMemory, "6 GiB memory free, workspace needs 6 GiB (5 GiB + 20% headroom)"},
      {"memory: the agent's figure unknown",
       [](N&, A& a, R& r, P&) {
         a->capacity.memory_available_bytes.reset();
         r.needs.memory_bytes = 64 * kGiB;
       },
       std::nullopt, ""},
      {"memory: the workspace's figure unknown",
       [](N&, A& a, R&, P&) { a->capacity.memory_available_bytes = 1; }, std::nullopt, ""},
      {"memory: another headroom",
       [](N&, A& a, R& r, P& p) {
         a->capacity.memory_available_bytes = 2 * kGiB;
         r.needs.memory_bytes = 2 * kGiB;
         p.headroom = 1.5;
       },
       Ineligibility::kInsufficientMemory, "2 GiB memory free, workspace needs 3 GiB (2 GiB + 50% headroom)"},
      {"memory: no headroom",
       [](N&, A& a, R& r, P& p) {
         a->capacity.memory_available_bytes = kGiB;
         r.needs.memory_bytes = kGiB + 100 * kMiB;
         p.headroom = 1.0;
       },
       Ineligibility::kInsufficientMemory, "1 GiB memory free, workspace needs 1.1 GiB"},
      {"not enough disk on any path",
       [](N&, A& a, R& r, P&) {
         a->capacity.disk_free_bytes = {{"/var/lib/containers/storage", 8 * kGiB}, {"/var/tmp", 2 * kGiB}};
         r.needs.archive_bytes = 10 * kGiB;
       },
       Ineligibility::kInsufficientDisk, "8 GiB disk free, checkpoint needs 12 GiB (10 GiB + 20% headroom)"},
      {"disk: enough on one path",
       [](N&, A& a, R& r, P&) {
         a->capacity.disk_free_bytes = {{"/var/lib/containers/storage", 2 * kGiB}, {"/var/tmp", 12 * kGiB}};
         r.needs.archive_bytes = 10 * kGiB;
       },
       std::nullopt, ""},
      {"disk: the agent's figures unknown",
       [](N&, A& a, R& r, P&) {
         a->capacity.disk_free_bytes.clear();
         r.needs.archive_bytes = 10 * kGiB;
       },
       std::nullopt, ""},
      {"disk: the archive's size unknown",
       [](N&, A& a, R&, P&) { a->capacity.disk_free_bytes = {{"/var/tmp", 0}}; }, std::nullopt, ""},
      {"memory is judged before disk",
       [](N&, A& a, R& r, P&) {
         a->capacity.memory_available_bytes = kGiB;
         a->capacity.disk_free_bytes = {{"/var/tmp", kGiB}};
         r.needs = {8 * kGiB, 8 * kGiB};
       },
       Ineligibility::kInsufficientMemory, "1 GiB memory free, workspace needs 9.6 GiB (8 GiB + 20% headroom)"},
      {"the first rule broken is the reason",
       [](N& n, A& a, R&, P&) {
         n.unschedulable = true;
         n.taints = {taint("karpenter.sh/disrupted", TaintEffect::kNoSchedule)};
         a->ready = false;
       },
       Ineligibility::kTerminationTaint, "tainted for termination (karpenter.sh/disrupted)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    NodeView node = ready_node("node-2");
    std::optional<AgentState> agent = healthy_agent();
    PlacementRequest request = request_with({});
    PlacementPolicy policy;
    c.set_up(node, agent, request, policy);

    auto refusal = refusal_for(node, agent ? &*agent : nullptr, request, policy);
    REQUIRE(refusal.has_value() == c.why.has_value());
    if (refusal) {
      CHECK(refusal->node == node.name);
      CHECK(refusal->why == *c.why);
      CHECK(refusal->reason == c.reason);
    }

    // choose_destination agrees: the node alone is chosen, or refused alike.
    request.nodes = {node};
    if (agent) request.agents[node.name] = *agent;
    auto decision = choose_destination(request, policy);
    if (c.why) {
      CHECK_FALSE(decision.chosen());
      REQUIRE(decision.refusals.size() == 1);
      CHECK(decision.refusals[0].reason == c.reason);
      CHECK(decision.message() == "no destination: " + node.name + ": " + c.reason);
    } else {
      CHECK(decision.node == node.name);
      CHECK(decision.refusals.empty());
    }
  }
}

// ---- choosing among eligible nodes ----

TEST_CASE("among eligible nodes: most free memory, then fewest workspaces, then name") {
  struct Agent {
    std::string node;
    std::optional<std::uint64_t> memory;
    std::optional<std::uint32_t> workspaces;
  };
  struct Case {
    const char* what;
    std::vector<Agent> agents;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"most memory", {{"node-a", 4 * kGiB, 0}, {"node-b", 16 * kGiB, 9}, {"node-c", 8 * kGiB, 0}}, "node-b"},
      {"same memory: fewest workspaces", {{"node-a", 8 * kGiB, 3}, {"node-b", 8 * kGiB, 1}, {"node-c", 8 * kGiB, 2}},
       "node-b"},
      {"same memory and workspaces: name", {{"node-c", 8 * kGiB, 1}, {"node-a", 8 * kGiB, 1}, {"node-b", 8 * kGiB, 1}},
       "node-a"},
      {"unknown memory after any known", {{"node-a", std::nullopt, 0}, {"node-b", kMiB, 5}}, "node-b"},
      {"all unknown: fewest workspaces", {{"node-a", std::nullopt, 2}, {"node-b", std::nullopt, 1}}, "node-b"},
      {"all unknown, same workspaces: name", {{"node-b", std::nullopt, 1}, {"node-a", std::nullopt, 1}}, "node-a"},
      {"same memory: unknown workspaces after known", {{"node-a", 8 * kGiB, std::nullopt}, {"node-b", 8 * kGiB, 7}},
       "node-b"},
      {"the source is never chosen", {{"source", 64 * kGiB, 0}, {"node-a", kGiB, 4}}, "node-a"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    PlacementRequest request = request_with({});
    for (const auto& a : c.agents) {
      request.nodes.push_back(ready_node(a.node));
      request.agents[a.node] = healthy_agent(a.memory, a.workspaces);
    }
    auto decision = choose_destination(request);
    CHECK(decision.node == c.expected);
    // The order of the nodes given does not matter.
    std::reverse(request.nodes.begin(), request.nodes.end());
    CHECK(choose_destination(request).node == c.expected);
  }
}

TEST_CASE("the refusals list every node ruled out, in name order, also when a node was chosen") {
  PlacementRequest request = request_with({"node-4", "node-1", "node-3", "node-2"});
  request.agents["node-2"].ready = false;
  request.nodes[2].taints = {taint("karpenter.sh/disrupted", TaintEffect::kNoSchedule)};  // node-3
  request.agents["node-4"].capacity.memory_available_bytes = 512 * kMiB;
  request.needs.memory_bytes = kGiB;

  auto decision = choose_destination(request);
  CHECK(decision.node == "node-1");
  CHECK(decision.message() == "destination node-1");
  REQUIRE(decision.refusals.size() == 3);
  CHECK(decision.refusals[0].node == "node-2");
  CHECK(decision.refusals[1].node == "node-3");
  CHECK(decision.refusals[2].node == "node-4");

  request.agents["node-1"].live = false;
  decision = choose_destination(request);
  CHECK_FALSE(decision.chosen());
  CHECK(decision.message() ==
        "no destination: node-1: agent not live (its Lease has expired); node-2: agent not ready; "
        "node-3: tainted for termination (karpenter.sh/disrupted); "
        "node-4: 512 MiB memory free, workspace needs 1.2 GiB (1 GiB + 20% headroom)");
}

TEST_CASE("a named node is the only candidate: chosen, or refused with its reason, never replaced") {
  PlacementRequest request = request_with({"node-1", "node-2", "node-3"});
  request.agents["node-1"].capacity.memory_available_bytes = 64 * kGiB;

  SUBCASE("eligible: chosen although another has more memory") {
    request.destination.node = "node-2";
    auto decision = choose_destination(request);
    CHECK(decision.node == "node-2");
    CHECK(decision.refusals.empty());
  }
  SUBCASE("ruled out: refused with its reason alone") {
    request.destination.node = "node-2";
    request.agents["node-2"].ready = false;
    auto decision = choose_destination(request);
    CHECK_FALSE(decision.chosen());
    REQUIRE(decision.refusals.size() == 1);
    CHECK(decision.refusals[0].why == Ineligibility::kAgentNotReady);
    CHECK(decision.message() == "no destination: node-2: agent not ready");
  }
  SUBCASE("absent: no such node") {
    request.destination.node = "node-9";
    auto decision = choose_destination(request);
    CHECK_FALSE(decision.chosen());
    REQUIRE(decision.refusals.size() == 1);
    CHECK(decision.refusals[0].why == Ineligibility::kNoSuchNode);
    CHECK(decision.message() == "no destination: node-9: no such node");
  }
  SUBCASE("the source node") {
    request.nodes.push_back(ready_node("source"));
    request.agents["source"] = healthy_agent(128 * kGiB);
    request.destination.node = "source";
    auto decision = choose_destination(request);
    CHECK_FALSE(decision.chosen());
    CHECK(decision.message() == "no destination: source: the workspace runs there");
  }
}

TEST_CASE("a node selector chooses among matching nodes; the others are listed last") {
  PlacementRequest request = request_with({"node-1", "node-2", "node-3"});
  request.nodes[0].labels = {{"pool", "big"}};
  request.nodes[1].labels = {{"pool", "workspaces"}};
  request.nodes[2].labels = {{"pool", "workspaces"}};
  request.agents["node-1"].capacity.memory_available_bytes = 64 * kGiB;
  request.agents["node-3"].capacity.memory_available_bytes = 16 * kGiB;
  request.destination.node_selector = {{"pool", "workspaces"}};

  auto decision = choose_destination(request);
  CHECK(decision.node == "node-3");
  REQUIRE(decision.refusals.size() == 1);
  CHECK(decision.refusals[0].why == Ineligibility::kSelectorMismatch);

  request.agents["node-2"].termination_notice = true;
  request.agents["node-3"].live = false;
  decision = choose_destination(request);
  CHECK_FALSE(decision.chosen());
  CHECK(decision.message() ==
        "no destination: node-2: agent reports a termination notice; "
        "node-3: agent not live (its Lease has expired); "
        "node-1: label pool is 'big', nodeSelector wants 'workspaces'");
}

TEST_CASE("the message lists at most max_listed nodes") {
  struct Case {
    std::size_t nodes;
    std::size_t max_listed;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {0, 20, "no destination: no nodes"},
      {3, 2, "no destination: n0: agent not ready; n1: agent not ready; and 1 more"},
      {3, 3, "no destination: n0: agent not ready; n1: agent not ready; n2: agent not ready"},
      {2, 0, "no destination: 2 more"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.nodes);
    CAPTURE(c.max_listed);
    PlacementRequest request = request_with({});
    for (std::size_t i = 0; i < c.nodes; ++i) {
      const std::string name = "n" + std::to_string(i);
      request.nodes.push_back(ready_node(name));
      request.agents[name] = healthy_agent();
      request.agents[name].ready = false;
    }
    CHECK(choose_destination(request).message(c.max_listed) == c.expected);
  }
}

// ---- termination handling ----

TEST_CASE("the default termination taint keys") {
  CHECK(default_termination_taint_keys() ==
        std::vector<std::string>{"aws-node-termination-handler/spot-itn", "karpenter.sh/disrupted",
                                 "cloud.google.com/impending-node-termination", "ToBeDeletedByClusterAutoscaler"});
}

TEST_CASE("tainted_for_termination matches the keys, whatever the effect and value") {
  struct Case {
    std::vector<Taint> taints;
    std::vector<std::string> keys;
    bool expected;
  };
  const auto defaults = default_termination_taint_keys();
  const std::vector<Case> cases = {
      {{}, defaults, false},
      {{taint("dedicated", TaintEffect::kNoSchedule)}, defaults, false},
      {{taint("karpenter.sh/disruption", TaintEffect::kNoSchedule, "disrupting")}, defaults, false},
      {{taint("aws-node-termination-handler/spot-itn", TaintEffect::kNoExecute, "i-0abc")}, defaults, true},
      {{taint("dedicated", TaintEffect::kNoSchedule), taint("karpenter.sh/disrupted", TaintEffect::kNoSchedule)},
       defaults, true},
      {{taint("cloud.google.com/impending-node-termination", TaintEffect::kPreferNoSchedule)}, defaults, true},
      {{taint("ToBeDeletedByClusterAutoscaler", TaintEffect::kNoSchedule, "1700000000")}, defaults, true},
      {{taint("karpenter.sh/disrupted", TaintEffect::kNoSchedule)}, {}, false},
      {{taint("example.com/reclaim", TaintEffect::kNoSchedule)}, {"example.com/reclaim"}, true},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(i);
    NodeView node = ready_node("node-1");
    node.taints = cases[i].taints;
    CHECK(tainted_for_termination(node, cases[i].keys) == cases[i].expected);
  }
}

TEST_CASE("evacuation_for: a termination taint is SpotInterruption, a cordon with drain is Drain") {
  struct Case {
    const char* what;
    std::vector<Taint> taints;
    bool cordoned;
    bool drain;
    std::optional<kube::CheckpointReason> reason;
    std::string detail;
  };
  const std::vector<Case> cases = {
      {"a healthy node", {}, false, true, std::nullopt, ""},
      {"an ordinary taint", {taint("dedicated", TaintEffect::kNoExecute)}, false, true, std::nullopt, ""},
      {"a termination taint", {taint("aws-node-termination-handler/spot-itn", TaintEffect::kNoExecute)}, false, false,
       kube::CheckpointReason::kSpotInterruption, "tainted for termination (aws-node-termination-handler/spot-itn)"},
      {"cordoned, drain off", {}, true, false, std::nullopt, ""},
      {"cordoned, drain on", {}, true, true, kube::CheckpointReason::kDrain, "cordoned (spec.unschedulable)"},
      {"cordoned and tainted for termination", {taint("karpenter.sh/disrupted", TaintEffect::kNoSchedule)}, true, true,
       kube::CheckpointReason::kSpotInterruption, "tainted for termination (karpenter.sh/disrupted)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    NodeView node = ready_node("node-1");
    node.taints = c.taints;
    node.unschedulable = c.cordoned;
    auto evacuation = evacuation_for(node, default_termination_taint_keys(), c.drain);
    REQUIRE(evacuation.has_value() == c.reason.has_value());
    if (evacuation) {
      CHECK(evacuation->reason == *c.reason);
      CHECK(evacuation->detail == c.detail);
    }
  }
}

// ---- deadlines ----

TEST_CASE("deadline_reachable: met, at risk or missed") {
  const Time now = kube::parse_rfc3339("2026-11-23T11:45:00Z").value();
  struct Case {
    const char* what;
    std::optional<Time> deadline;
    milliseconds estimated;
    DeadlineCheck expected;
  };
  const std::vector<Case> cases = {
      {"no deadline", std::nullopt, milliseconds(3'600'000), DeadlineCheck::kMet},
      {"well ahead", now + seconds(120), milliseconds(30'000), DeadlineCheck::kMet},
      {"exactly reachable", now + seconds(30), milliseconds(30'000), DeadlineCheck::kMet},
      {"one millisecond short", now + seconds(30), milliseconds(30'001), DeadlineCheck::kAtRisk},
      {"ahead but far too short", now + seconds(1), milliseconds(600'000), DeadlineCheck::kAtRisk},
      {"now, nothing left to do", now, milliseconds(0), DeadlineCheck::kMet},
      {"now, work left", now, milliseconds(1), DeadlineCheck::kMissed},
      {"passed", now - seconds(1), milliseconds(0), DeadlineCheck::kMissed},
      {"a negative estimate counts as none", now + seconds(1), milliseconds(-5'000), DeadlineCheck::kMet},
      {"passed, negative estimate", now - seconds(1), milliseconds(-5'000), DeadlineCheck::kMissed},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    CHECK(deadline_reachable(now, c.deadline, c.estimated) == c.expected);
  }
  CHECK(to_string(DeadlineCheck::kAtRisk) == "AtRisk");
}

TEST_CASE("human_bytes: binary units, one decimal at most") {
  const std::vector<std::pair<std::uint64_t, std::string>> cases = {
      {0, "0 B"},
      {1023, "1023 B"},
      {1024, "1 KiB"},
      {1536, "1.5 KiB"},
      {512 * kMiB, "512 MiB"},
      {kGiB + kGiB / 5, "1.2 GiB"},
      {kGiB - 1, "1 GiB"},
      {3 * (1ull << 40) / 2, "1.5 TiB"},
      {UINT64_MAX, "16 EiB"},
  };
  for (const auto& [bytes, text] : cases) {
    CAPTURE(bytes);
    CHECK(human_bytes(bytes) == text);
  }
}

}  // namespace wscp::controller
