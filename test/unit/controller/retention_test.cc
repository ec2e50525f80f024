// Keep-last-N (controller/retention.h): which finished resources of a
// workspace go, and the sweep that deletes them from a fake API server.
#include "controller/retention.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>

#include "kube/fake_kube_client.h"
#include "kube/resource.h"
#include "log/stream_logger.h"

namespace wscp::controller {
namespace {

using nlohmann::json;
using kube::testing::FakeKubeClient;
const kube::Time kT0 = kube::Time{} + std::chrono::hours(24 * 365 * 60);

// A WorkspaceCheckpoint as the API server holds it; finished `minutes`
// after kT0 unless `finished` is false.
json checkpoint(const std::string& ns, const std::string& name, const std::string& workspace, int minutes,
                bool running = true, bool finished = true) {
  kube::WorkspaceCheckpointStatus s;
  s.phase = kube::CheckpointPhase::kRestored;
  s.workspace_id = workspace;
  if (finished) s.finished_at = kT0 + std::chrono::minutes(minutes);
  kube::Condition c;
  c.type = std::string(kube::kConditionWorkspaceRunning);
  c.status = running ? kube::ConditionStatus::kTrue : kube::ConditionStatus::kFalse;
  c.reason = running ? "Restored" : "RestoreFailed";
  c.last_transition_time = kT0;
  s.conditions.push_back(c);
  if (running) s.running_on = kube::RunningOn{"node-2", std::nullopt, std::nullopt};
  return {{"apiVersion", "wscp.dev/v1alpha1"},
          {"kind", "WorkspaceCheckpoint"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", {{"workspace", {{"node", "node-1"}, {"container", workspace}}}}},
          {"status", s.to_json()}};
}

std::vector<std::string> names(const std::vector<RetainedCheckpoint>& cs) {
  std::vector<std::string> out;
  for (const auto& c : cs) out.push_back(c.name);
  return out;
}

RetainedCheckpoint parsed(const json& object) {
  json with_uid = object;
  with_uid["metadata"]["uid"] = "uid-" + object["metadata"]["name"].get<std::string>();
  auto c = retained_checkpoint(with_uid);
  REQUIRE(c.has_value());
  return *c;
}

TEST_CASE("retention: the newest N finished resources of a workspace stay; older ones go, oldest last") {
  std::vector<RetainedCheckpoint> cs{parsed(checkpoint("t", "a", "ws", 1)), parsed(checkpoint("t", "c", "ws", 3)),
                                     parsed(checkpoint("t", "b", "ws", 2)), parsed(checkpoint("t", "d", "ws", 4))};
  CHECK(names(beyond_keep_last(cs, 2)) == std::vector<std::string>{"b", "a"});
  CHECK(names(beyond_keep_last(cs, 4)).empty());
  CHECK(names(beyond_keep_last(cs, 0)).empty());  // 0 keeps everything
  CHECK(names(beyond_keep_last(cs, 1)) == std::vector<std::string>{"c", "b", "a"});
}

TEST_CASE("retention: a resource whose source was not released is kept") {
  json unreleased = checkpoint("t", "unreleased", "ws", 1);
  unreleased["metadata"]["uid"] = "u";
  kube::Condition c;
  c.type = std::string(kube::kConditionSourceReleased);
  c.status = kube::ConditionStatus::kFalse;
  c.reason = "ReleaseFailed";
  c.last_transition_time = kT0;
  unreleased["status"]["conditions"].push_back(c.to_json());
  std::vector<RetainedCheckpoint> cs{parsed(unreleased), parsed(checkpoint("t", "new", "ws", 3))};
  CHECK(names(beyond_keep_last(cs, 1)).empty());
}

TEST_CASE("retention: a resource whose workspace runs nowhere known is kept, though it counts") {
  std::vector<RetainedCheckpoint> cs{parsed(checkpoint("t", "old", "ws", 1)),
                                     parsed(checkpoint("t", "stopped", "ws", 2, false)),
                                     parsed(checkpoint("t", "new", "ws", 3))};
  CHECK(names(beyond_keep_last(cs, 1)) == std::vector<std::string>{"old"});
}

TEST_CASE("retention: unfinished, unnamed-workspace and deleting resources are not counted") {
  json unfinished = checkpoint("t", "running", "ws", 1, true, false);
  unfinished["metadata"]["uid"] = "u";
  CHECK_FALSE(retained_checkpoint(unfinished).has_value());
  json unnamed = checkpoint("t", "unnamed", "ws", 1);
  unnamed["metadata"]["uid"] = "u";
  unnamed["status"].erase("workspaceId");
  CHECK_FALSE(retained_checkpoint(unnamed).has_value());
  json deleting = checkpoint("t", "going", "ws", 1);
  deleting["metadata"]["uid"] = "u";
  deleting["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:00Z";
  CHECK_FALSE(retained_checkpoint(deleting).has_value());
  json no_uid = checkpoint("t", "x", "ws", 1);
  CHECK_FALSE(retained_checkpoint(no_uid).has_value());  // not as the API server returns it
}

TEST_CASE("retention: the sweep deletes what is beyond N in its namespace and workspace only, with an Event") {
  FakeKubeClient kube;
  for (const auto& o : {checkpoint("t", "a", "ws", 1), checkpoint("t", "b", "ws", 2), checkpoint("t", "c", "ws", 3),
                        checkpoint("t", "other", "ws-2", 0), checkpoint("u", "elsewhere", "ws", 0)}) {
    auto created = kube.create(kube::resources::kWorkspaceCheckpoints, o);  // the server drops the status
    REQUIRE(created.ok());
    (*created)["status"] = o["status"];
    REQUIRE(kube.update_status(kube::resources::kWorkspaceCheckpoints, *created).ok());
  }
  auto list = [&kube] {
    auto listed = kube.list(kube::resources::kWorkspaceCheckpoints, "");
    REQUIRE(listed.ok());
    return listed->items;
  };
  kube::EventRecorderConfig config;
  config.reporting_instance = "controller-0";
  kube::KubeEventRecorder events(kube, config);
  std::ostringstream log_text;
  auto logger = log::make_stream_logger(log_text, log::Format::kText, log::Level::kInfo, system_clock());
  RetentionSweeper sweeper(kube, events, logger, list, 1);

  auto result = sweeper.reconcile("t/ws");
  CHECK(result.kind() == kube::WorkResult::Kind::kDone);
  auto left = kube.list(kube::resources::kWorkspaceCheckpoints, "");
  REQUIRE(left.ok());
  std::vector<std::string> remaining;
  for (const auto& o : left->items) remaining.push_back(o["metadata"]["name"].get<std::string>());
  std::sort(remaining.begin(), remaining.end());
  CHECK(remaining == std::vector<std::string>{"c", "elsewhere", "other"});

  auto recorded = kube.list(kube::resources::kEvents, "t");
  REQUIRE(recorded.ok());
  REQUIRE(recorded->items.size() == 2);
  for (const auto& e : recorded->items) {
    CHECK(e.value("reason", "") == "Retention");
    CHECK(e.value("note", "").find("beyond the newest 1 finished WorkspaceCheckpoints of workspace ws") !=
          std::string::npos);
  }

  // Again: nothing more goes.
  CHECK(sweeper.reconcile("t/ws").kind() == kube::WorkResult::Kind::kDone);
  CHECK(kube.list(kube::resources::kWorkspaceCheckpoints, "")->items.size() == 3);
}

}  // namespace
}  // namespace wscp::controller
