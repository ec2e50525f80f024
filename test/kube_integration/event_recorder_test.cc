// Events recorded on a real API server (events.k8s.io/v1), deduplicated
// into one Event with a growing series.
#include <doctest/doctest.h>

#include "client_env.h"
#include "kube/event_recorder.h"
#include "kube/object.h"

using namespace wscp;
using namespace wscp::kube;
using namespace wscp::kube::testing;

TEST_CASE("events: recorded about a WorkspaceCheckpoint and a Node, repeats counted in one series") {
  KubeEnv kube;
  apply_crd(kube);
  auto client = admin_client(kube);
  const std::string ns = fresh_namespace(*client, "wscp-events");
  auto wsc = client->create(resources::kWorkspaceCheckpoints, checkpoint_object(ns, "ws"));
  REQUIRE(wsc.ok());
  EventRecorderConfig config;
  config.reporting_instance = "wscp-controller-test";
  KubeEventRecorder recorder(*client, config);
  const ObjectReference ref = ObjectReference::of(resources::kWorkspaceCheckpoints, *wsc);

  for (int i = 0; i < 4; ++i) {
    Status s = recorder.record(ref, EventType::kWarning, "CheckpointFailed", "Checkpoint", "CRIU failed: no space");
    REQUIRE_MESSAGE(s.ok(), s.error().describe());
  }
  REQUIRE(recorder.record(ref, EventType::kNormal, "Checkpointed", "Checkpoint", "archive sealed").ok());

  auto events = client->list(resources::kEvents, ns);
  REQUIRE(events.ok());
  REQUIRE(events->items.size() == 2);
  std::map<std::string, Json> by_reason;
  for (const auto& e : events->items) by_reason[e["reason"].get<std::string>()] = e;
  const Json& failed = by_reason.at("CheckpointFailed");
  CHECK(failed["type"] == "Warning");
  CHECK(failed["note"] == "CRIU failed: no space");
  CHECK(failed["series"]["count"] == 4);
  CHECK(failed["regarding"]["uid"] == uid_of(*wsc));
  CHECK(failed["regarding"]["kind"] == "WorkspaceCheckpoint");
  CHECK(failed["reportingController"] == "wscp.dev/controller");
  CHECK(failed["reportingInstance"] == "wscp-controller-test");
  CHECK_FALSE(by_reason.at("Checkpointed").contains("series"));

  // kubectl shows them against the object.
  auto described = kube.kubectl({"get", "events", "-n", ns, "--field-selector", "involvedObject.name=ws", "-o", "name"});
  REQUIRE_MESSAGE(described.ok(), described.output());
  CHECK(std::count(described.out.begin(), described.out.end(), '\n') == 2);

  // A cluster-scoped object's events go to "default".
  const std::string node_name = "wscp-events-node-" + ns;
  auto node = client->create(resources::kNodes, Json{{"metadata", {{"name", node_name}}}});
  REQUIRE(node.ok());
  REQUIRE(recorder.record(ObjectReference::of(resources::kNodes, *node), EventType::kWarning, "SpotInterruption",
                          "Drain", "termination notice in 120 s")
              .ok());
  ListOptions about;
  about.field_selector = "regarding.name=" + node_name;
  auto node_events = client->list(resources::kEvents, "default", about);
  REQUIRE_MESSAGE(node_events.ok(), node_events.error().describe());
  REQUIRE(node_events->items.size() == 1);
  CHECK(node_events->items[0]["regarding"]["kind"] == "Node");
  REQUIRE(client->remove(resources::kNodes, "", node_name).ok());
}
