#include "kube/event_recorder.h"

#include <doctest/doctest.h>

#include "common/fake_clock.h"
#include "fake_kube_client.h"

using namespace wscp;
using namespace wscp::kube;
using wscp::kube::testing::FakeKubeClient;
using namespace std::chrono_literals;

namespace {

const Resource& kWsc = resources::kWorkspaceCheckpoints;

struct Fixture {
  FakeKubeClient api;
  std::shared_ptr<wscp::testing::FakeClock> clock = std::make_shared<wscp::testing::FakeClock>();
  KubeEventRecorder recorder{api, config(), clock};
  ObjectReference ref;

  Fixture() {
    auto created = api.create(kWsc, Json{{"metadata", {{"name", "ws1"}, {"namespace", "team"}}}});
    REQUIRE(created.ok());
    ref = ObjectReference::of(kWsc, *created);
  }
  static EventRecorderConfig config() {
    EventRecorderConfig c;
    c.reporting_instance = "wscp-controller-0";
    c.dedup_window = 5min;
    return c;
  }
  std::vector<Json> events() { return api.stored_all(resources::kEvents); }
};

}  // namespace

TEST_CASE("events: an Event about an object, with the reporting controller and instance") {
  Fixture f;
  CHECK(f.ref.api_version == "wscp.dev/v1alpha1");
  CHECK(f.ref.kind == "WorkspaceCheckpoint");
  CHECK_FALSE(f.ref.uid.empty());
  REQUIRE(f.recorder.record(f.ref, EventType::kWarning, "CheckpointFailed", "Checkpoint", "CRIU said no").ok());
  auto events = f.events();
  REQUIRE(events.size() == 1);
  const Json& e = events[0];
  CHECK(namespace_of(e) == "team");
  CHECK(name_of(e).starts_with("ws1."));
  CHECK(e["type"] == "Warning");
  CHECK(e["reason"] == "CheckpointFailed");
  CHECK(e["action"] == "Checkpoint");
  CHECK(e["note"] == "CRIU said no");
  CHECK(e["reportingController"] == "wscp.dev/controller");
  CHECK(e["reportingInstance"] == "wscp-controller-0");
  CHECK(e["regarding"]["kind"] == "WorkspaceCheckpoint");
  CHECK(e["regarding"]["name"] == "ws1");
  CHECK(e["regarding"]["namespace"] == "team");
  CHECK(e["regarding"]["uid"] == f.ref.uid);
  CHECK(e["eventTime"].get<std::string>().size() == 27);  // MicroTime
  CHECK_FALSE(e.contains("series"));
}

TEST_CASE("events: the same event within the window grows one series; anything different is another Event") {
  Fixture f;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(f.recorder.record(f.ref, EventType::kNormal, "Checkpointing", "Checkpoint", "started").ok());
    f.clock->sleep_for(1min);
  }
  auto events = f.events();
  REQUIRE(events.size() == 1);
  CHECK(events[0]["series"]["count"] == 3);
  CHECK(events[0]["series"].contains("lastObservedTime"));
  CHECK(f.api.calls("create") == 2);  // the object and one Event
  CHECK(f.api.calls("patch") == 2);

  struct Case {
    EventType type;
    const char* reason;
    const char* action;
    const char* note;
  };
  const Case different[] = {{EventType::kWarning, "Checkpointing", "Checkpoint", "started"},
                            {EventType::kNormal, "Restoring", "Checkpoint", "started"},
                            {EventType::kNormal, "Checkpointing", "Restore", "started"},
                            {EventType::kNormal, "Checkpointing", "Checkpoint", "started again"}};
  for (const auto& c : different) REQUIRE(f.recorder.record(f.ref, c.type, c.reason, c.action, c.note).ok());
  CHECK(f.events().size() == 5);

  ObjectReference other = f.ref;
  other.name = "ws2";
  other.uid = "another";
  REQUIRE(f.recorder.record(other, EventType::kNormal, "Checkpointing", "Checkpoint", "started").ok());
  CHECK(f.events().size() == 6);
}

TEST_CASE("events: after the window a new Event is made") {
  Fixture f;
  REQUIRE(f.recorder.record(f.ref, EventType::kNormal, "R", "A", "n").ok());
  f.clock->sleep_for(5min + 1s);
  REQUIRE(f.recorder.record(f.ref, EventType::kNormal, "R", "A", "n").ok());
  CHECK(f.events().size() == 2);
  CHECK(f.api.calls("patch") == 0);
}

TEST_CASE("events: beyond max_tracked the least recently used series is forgotten, not a busy one") {
  FakeKubeClient api;
  auto clock = std::make_shared<wscp::testing::FakeClock>();
  EventRecorderConfig config = Fixture::config();
  config.max_tracked = 2;
  KubeEventRecorder recorder{api, config, clock};
  ObjectReference ref;
  ref.kind = "WorkspaceCheckpoint";
  ref.ns = "team";
  ref.name = "ws1";
  ref.uid = "u1";
  auto record = [&](const char* reason) {
    clock->sleep_for(1s);
    REQUIRE(recorder.record(ref, EventType::kNormal, reason, "A", "n").ok());
  };
  record("a");
  record("b");
  record("a");  // a is now the most recently used
  record("c");  // b goes
  CHECK(api.calls("patch") == 1);
  record("a");  // still known: a patch
  CHECK(api.calls("patch") == 2);
  record("b");  // forgotten: a new Event
  CHECK(api.calls("patch") == 2);
  CHECK(api.stored_all(resources::kEvents).size() == 4);
}

TEST_CASE("events: an Event that expired on the server starts a new one") {
  Fixture f;
  REQUIRE(f.recorder.record(f.ref, EventType::kNormal, "R", "A", "n").ok());
  const std::string first = name_of(f.events()[0]);
  REQUIRE(f.api.remove(resources::kEvents, "team", first).ok());
  f.clock->sleep_for(1s);
  REQUIRE(f.recorder.record(f.ref, EventType::kNormal, "R", "A", "n").ok());
  auto events = f.events();
  REQUIRE(events.size() == 1);
  CHECK(name_of(events[0]) != first);
  CHECK_FALSE(events[0].contains("series"));
}

TEST_CASE("events: about a cluster-scoped object they go to the default namespace; long notes are cut") {
  Fixture f;
  auto node = f.api.create(resources::kNodes, Json{{"metadata", {{"name", "node-1"}}}});
  REQUIRE(node.ok());
  ObjectReference ref = ObjectReference::of(resources::kNodes, *node);
  CHECK(ref.ns.empty());
  std::string note(2000, 'x');
  note += "\xc3\xa9";  // a multibyte character past the limit
  std::string at_limit(1023, 'y');
  at_limit += "\xc3\xa9";  // straddles byte 1024
  REQUIRE(f.recorder.record(ref, EventType::kWarning, "SpotInterruption", "Drain", note).ok());
  REQUIRE(f.recorder.record(ref, EventType::kWarning, "SpotInterruption", "Drain", at_limit).ok());
  auto events = f.events();
  REQUIRE(events.size() == 2);
  for (const auto& e : events) {
    CHECK(namespace_of(e) == "default");
    CHECK(e["note"].get<std::string>().size() <= 1024);
    CHECK_FALSE(e["regarding"].contains("namespace"));
  }
}

TEST_CASE("events: API errors are returned with what was being recorded") {
  Fixture f;
  f.api.fail_next("create", FakeKubeClient::api(403, "Forbidden", "cannot create events"));
  Status s = f.recorder.record(f.ref, EventType::kNormal, "R", "A", "n");
  REQUIRE_FALSE(s.ok());
  CHECK(is_forbidden(s.error()));
  CHECK(s.error().message().find("record event R about WorkspaceCheckpoint team/ws1") != std::string::npos);
  // Not remembered: the next one creates.
  REQUIRE(f.recorder.record(f.ref, EventType::kNormal, "R", "A", "n").ok());
  CHECK(f.events().size() == 1);
}
