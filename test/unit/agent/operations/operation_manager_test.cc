#include "agent/operations/operation_manager.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <functional>
#include <thread>

#include "common/fake_clock.h"
#include "operations/fake_phase_runner.h"
#include "testing/eventually.h"
#include "testing/temp_dir.h"

using namespace wscp;
using namespace wscp::agent;
using namespace wscp::agent::operations;
using namespace std::chrono_literals;

namespace {

using agent::testing::eventually;

std::unique_ptr<OperationStore> store_in(const std::string& dir) {
  auto s = DirectoryOperationStore::open(dir);
  REQUIRE(s.ok());
  return std::move(*s);
}

Request checkpoint(const std::string& ws, const std::string& cp) { return {Kind::kCheckpoint, ws, "", cp, "", false, false}; }

State state_of(OperationManager& m, const std::string& id) { return m.get(id)->state; }

}  // namespace

TEST_CASE("operations: the same id twice is one operation; another request under it is a conflict") {
  agent::testing::TempDir dir;
  agent::testing::FakePhaseRunner runner;
  OperationManager m(store_in(dir.path()), runner, {}, nullptr, nullptr, nullptr);
  REQUIRE(m.open().ok());
  auto a = m.start("op-1", checkpoint("ws", "c1"));
  REQUIRE(a.ok());
  CHECK(a->created);
  auto b = m.start("op-1", checkpoint("ws", "c1"));
  REQUIRE(b.ok());
  CHECK_FALSE(b->created);
  auto c = m.start("op-1", checkpoint("ws", "c2"));
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().code() == ErrorCode::kConflict);
  REQUIRE(eventually([&] { return state_of(m, "op-1") == State::kSucceeded; }));
  CHECK(runner.runs == 1);
  auto op = m.get("op-1");
  REQUIRE(op->outcome.has_value());
  CHECK(op->outcome->archive_bytes == 1024);
  CHECK(op->outcome->criu.size() == 1);
  REQUIRE(op->steps.size() == 1);
  CHECK(op->steps[0].name == "dump");
  CHECK(op->steps[0].duration_ms >= 0);
  CHECK(op->progress.bytes_done == 512);
  CHECK(m.get("nope").error().code() == ErrorCode::kNotFound);
  CHECK(m.start("op-2", Request{Kind::kCheckpoint, "ws", "", "c", "other", false, false}).error().code() ==
        ErrorCode::kInvalidArgument);
}

TEST_CASE("operations: one live operation per workspace; another waits for it to end") {
  agent::testing::TempDir dir;
  agent::testing::FakePhaseRunner runner;
  runner.close_gate();
  OperationManager m(store_in(dir.path()), runner, {}, nullptr, nullptr, nullptr);
  REQUIRE(m.open().ok());
  REQUIRE(m.start("restore-1", Request{Kind::kRestore, "ws", "", "c1", "", false, false}).ok());
  auto second = m.start("restore-2", Request{Kind::kRestore, "ws", "", "c1", "", false, false});
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code() == ErrorCode::kConflict);
  CHECK(second.error().message().find("restore-1") != std::string::npos);
  CHECK(m.start("other", Request{Kind::kRestore, "ws-2", "", "c1", "", false, false}).ok());
  runner.open_gate();
  REQUIRE(eventually([&] { return m.active() == 0; }));
  CHECK(m.start("restore-2", Request{Kind::kResume, "ws", "", "c1", "", false, false}).ok());
  REQUIRE(eventually([&] { return m.active() == 0; }));
  CHECK(runner.runs == 3);
}

TEST_CASE("operations: the executor bounds how many run at once") {
  agent::testing::TempDir dir;
  agent::testing::FakePhaseRunner runner;
  runner.close_gate();
  ManagerOptions o;
  o.workers = 2;
  o.transfer_buffer_bytes = 1;
  OperationManager m(store_in(dir.path()), runner, o, nullptr, nullptr, nullptr);
  REQUIRE(m.open().ok());
  for (int i = 0; i < 5; ++i) REQUIRE(m.start("op-" + std::to_string(i), checkpoint("ws" + std::to_string(i), "c")).ok());
  REQUIRE(eventually([&] { return runner.running == 2; }));
  runner.open_gate();
  REQUIRE(eventually([&] { return runner.runs == 5 && m.active() == 0; }));
  CHECK(runner.max_running == 2);
}

TEST_CASE("operations: the memory budget admits checkpoints by their buffer need") {
  agent::testing::TempDir dir;
  agent::testing::FakePhaseRunner runner;
  runner.close_gate();
  ManagerOptions o;
  o.workers = 4;
  o.memory_budget_bytes = 100;
  o.transfer_buffer_bytes = 60;
  OperationManager m(store_in(dir.path()), runner, o, nullptr, nullptr, nullptr);
  REQUIRE(m.open().ok());
  for (int i = 0; i < 3; ++i) REQUIRE(m.start("op-" + std::to_string(i), checkpoint("ws" + std::to_string(i), "c")).ok());
  REQUIRE(eventually([&] { return runner.running == 1; }));
  // A release needs no buffer: it runs beside the admitted checkpoint.
  REQUIRE(m.start("rel", Request{Kind::kRelease, "wsx", "", "c", "", false, false}).ok());
  REQUIRE(eventually([&] { return runner.running == 2; }));
  CHECK(m.budget().in_use() == 60);
  runner.open_gate();
  REQUIRE(eventually([&] { return runner.runs == 4 && m.active() == 0; }));
  CHECK(m.budget().peak() == 60);
}

TEST_CASE("operations: records survive a restart, 0600, and a repeated start runs nothing") {
  agent::testing::TempDir dir;
  {
    agent::testing::FakePhaseRunner runner;
    OperationManager m(store_in(dir.path()), runner, {}, nullptr, nullptr, nullptr);
    REQUIRE(m.open().ok());
    REQUIRE(m.start("op-1", checkpoint("ws", "c1")).ok());
    REQUIRE(eventually([&] { return state_of(m, "op-1") == State::kSucceeded; }));
  }
  struct stat st {};
  REQUIRE(::stat(dir.file("op-1.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  agent::testing::FakePhaseRunner runner;
  OperationManager m(store_in(dir.path()), runner, {}, nullptr, nullptr, nullptr);
  REQUIRE(m.open().ok());
  auto again = m.start("op-1", checkpoint("ws", "c1"));
  REQUIRE(again.ok());
  CHECK_FALSE(again->created);
  CHECK(again->operation.state == State::kSucceeded);
  CHECK(again->operation.outcome->archive_bytes == 1024);
  CHECK(runner.runs == 0);
}

TEST_CASE("operations: an operation running when the agent died gets recovery's outcome and never runs again") {
  agent::testing::TempDir dir;
  {
    auto store = store_in(dir.path());
    Operation op;
    op.id = "op-run";
    op.request = checkpoint("ws", "c9");
    op.state = State::kRunning;
    REQUIRE(store->save(op).ok());
    op.id = "op-pending";
    op.state = State::kPending;
    REQUIRE(store->save(op).ok());
  }
  agent::testing::FakePhaseRunner runner;
  runner.recovered.push_back({"c9", "ws", Kind::kCheckpoint, "resumed on the source", false, std::nullopt,
                              migration::RecoveryAction::kResumedOnSource, {}});
  OperationManager m(store_in(dir.path()), runner, {}, nullptr, nullptr, nullptr);
  REQUIRE(m.open().ok());
  auto op = m.get("op-run");
  CHECK(op->state == State::kFailed);
  REQUIRE(op->recovery.has_value());
  CHECK(op->recovery->outcome == "resumed on the source");
  CHECK(op->recovery->action == migration::RecoveryAction::kResumedOnSource);
  CHECK(to_json(*op).at("recovery").at("action") == "resumed-on-source");
  CHECK(m.get("op-pending")->state == State::kCancelled);
  auto again = m.start("op-run", checkpoint("ws", "c9"));
  REQUIRE(again.ok());
  CHECK_FALSE(again->created);
  CHECK(runner.runs == 0);
}

TEST_CASE("operations: workspaces sharing a checkpoint id get their own recovery, a container name the only one") {
  agent::testing::TempDir dir;
  {
    auto store = store_in(dir.path());
    Operation op;
    op.state = State::kRunning;
    for (const auto& [id, workspace] :
         {std::pair{"op-a", "ws-a"}, {"op-b", "ws-b"}, {"op-web", "web"}, {"op-c", "c-primary"}}) {
      op.id = id;
      op.request = checkpoint(workspace, std::string(id) == "op-web" ? "c2" : "c1");
      REQUIRE(store->save(op).ok());
    }
    op.id = "op-x";
    op.request = checkpoint("x", "c1");
    REQUIRE(store->save(op).ok());
  }
  agent::testing::FakePhaseRunner runner;
  runner.recovered.push_back({"c1", "ws-a", Kind::kCheckpoint, "resumed", false, std::nullopt,
                              migration::RecoveryAction::kResumedOnSource, {}});
  runner.recovered.push_back({"c1", "ws-b", Kind::kCheckpoint, "sealed", true, std::nullopt,
                              migration::RecoveryAction::kAwaitingDecision, {}});
  // An evacuation names the primary container; the journal has the workspace id and its containers.
  runner.recovered.push_back({"c1", "ws-c", Kind::kCheckpoint, "resumed", false, std::nullopt,
                              migration::RecoveryAction::kResumedOnSource, {"c-primary", "c-db"}});
  // The request named container "web"; the journal has its workspace id.
  runner.recovered.push_back({"c2", "ws-web", Kind::kCheckpoint, "resumed", false, std::nullopt,
                              migration::RecoveryAction::kResumedOnSource, {}});
  OperationManager m(store_in(dir.path()), runner, {}, nullptr, nullptr, nullptr);
  REQUIRE(m.open().ok());
  CHECK(m.get("op-a")->recovery->action == migration::RecoveryAction::kResumedOnSource);
  CHECK(m.get("op-b")->recovery->action == migration::RecoveryAction::kAwaitingDecision);
  CHECK(m.get("op-web")->recovery->action == migration::RecoveryAction::kResumedOnSource);
  CHECK(m.get("op-c")->recovery->action == migration::RecoveryAction::kResumedOnSource);
  // Two entries of c1, neither x's: which was x's cannot be told.
  const auto x = m.get("op-x");
  CHECK(x->recovery->action == migration::RecoveryAction::kFailed);
  CHECK(x->recovery->pending);
  CHECK(x->recovery->outcome.find("several workspaces") != std::string::npos);
}

TEST_CASE("operations: a store recovery cannot read marks only its own interrupted operations; others are recovered") {
  agent::testing::TempDir dir;
  {
    auto store = store_in(dir.path());
    Operation op;
    op.state = State::kRunning;
    op.id = "on-down";
    op.request = checkpoint("ws-a", "c1");
    op.request.store = "down";
    REQUIRE(store->save(op).ok());
    op.id = "on-main";
    op.request = checkpoint("ws-b", "c2");
    op.request.store = "main";
    REQUIRE(store->save(op).ok());
  }
  agent::testing::FakePhaseRunner runner;
  runner.recovery_failed_stores.emplace("down", Error(ErrorCode::kUnavailable, "store down: connection refused"));
  runner.recovered.push_back({"c2", "ws-b", Kind::kCheckpoint, "resumed on the source", false, std::nullopt,
                              migration::RecoveryAction::kResumedOnSource, {}});
  OperationManager m(store_in(dir.path()), runner, {}, nullptr, nullptr, nullptr);
  auto opened = m.open();
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().message().find("connection refused") != std::string::npos);
  auto down = m.get("on-down");
  CHECK(down->recovery->action == migration::RecoveryAction::kFailed);
  CHECK(down->recovery->pending);
  CHECK(down->recovery->outcome.find("connection refused") != std::string::npos);
  CHECK(m.get("on-main")->recovery->action == migration::RecoveryAction::kResumedOnSource);
}

TEST_CASE("operations: a request naming no store conflicts with one naming a store on the same workspace") {
  agent::testing::TempDir dir;
  agent::testing::FakePhaseRunner runner;
  runner.close_gate();
  OperationManager m(store_in(dir.path()), runner, {}, nullptr, nullptr, nullptr);
  REQUIRE(m.open().ok());
  Request named = checkpoint("ws", "c1");
  named.store = "main";
  REQUIRE(m.start("named", named).ok());
  auto unnamed = m.start("unnamed", checkpoint("ws", "c2"));
  REQUIRE_FALSE(unnamed.ok());
  CHECK(unnamed.error().code() == ErrorCode::kConflict);
  runner.open_gate();
}

TEST_CASE("operations: finished operations are forgotten after the retention, on disk too; running ones never") {
  agent::testing::TempDir dir;
  auto clock = std::make_shared<wscp::testing::FakeClock>();
  clock->sleep_for(std::chrono::hours(24 * 365 * 56));
  agent::testing::FakePhaseRunner runner;
  ManagerOptions o;
  o.retention = std::chrono::hours(1);
  {
    // An old operation whose recovery still waits for a decision: kept.
    auto store = store_in(dir.path());
    Operation waiting;
    waiting.id = "waiting";
    waiting.request = checkpoint("ws-wait", "c0");
    waiting.state = State::kFailed;
    waiting.finished_at = "2000-01-01T00:00:00Z";
    waiting.recovery = Recovery{migration::RecoveryAction::kAwaitingDecision, "sealed", true};
    REQUIRE(store->save(waiting).ok());
  }
  {
    OperationManager m(store_in(dir.path()), runner, o, clock, nullptr, nullptr);
    REQUIRE(m.open().ok());
    REQUIRE(m.start("old", checkpoint("ws-old", "c1")).ok());
    REQUIRE(eventually([&] { return m.get("old")->state == State::kSucceeded; }));
    clock->sleep_for(std::chrono::minutes(90));
    runner.close_gate();
    REQUIRE(m.start("running", checkpoint("ws-run", "c2")).ok());
    REQUIRE(eventually([&] { return m.get("running")->state == State::kRunning; }));
    CHECK(m.prune_finished() == 1);
    CHECK(m.get("old").error().code() == ErrorCode::kNotFound);
    CHECK(m.get("running").ok());
    runner.open_gate();
    REQUIRE(eventually([&] { return m.get("running")->state == State::kSucceeded; }));
    CHECK(m.prune_finished() == 0);  // finished just now
  }
  OperationManager again(store_in(dir.path()), runner, o, clock, nullptr, nullptr);
  REQUIRE(again.open().ok());
  CHECK(again.get("old").error().code() == ErrorCode::kNotFound);
  CHECK(again.get("running").ok());
  CHECK(again.get("waiting").ok());
}

TEST_CASE("operations: cancel stops a running operation; shutdown refuses new ones") {
  agent::testing::TempDir dir;
  agent::testing::FakePhaseRunner runner;
  runner.close_gate();
  OperationManager m(store_in(dir.path()), runner, {}, nullptr, nullptr, nullptr);
  REQUIRE(m.open().ok());
  REQUIRE(m.start("op-1", checkpoint("ws", "c1")).ok());
  REQUIRE(eventually([&] { return runner.running == 1; }));
  REQUIRE(m.cancel("op-1").ok());
  REQUIRE(eventually([&] { return state_of(m, "op-1") == State::kCancelled; }));

  REQUIRE(m.start("op-2", checkpoint("ws", "c2")).ok());
  REQUIRE(eventually([&] { return runner.running == 1; }));
  const auto t0 = std::chrono::steady_clock::now();
  m.shutdown(100ms);  // the gate stays closed: the grace period ends it
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
  CHECK(state_of(m, "op-2") == State::kCancelled);
  auto refused = m.start("op-3", checkpoint("ws", "c3"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kUnavailable);
}

TEST_CASE("operations: shutdown lets a running operation finish within the grace period") {
  agent::testing::TempDir dir;
  agent::testing::FakePhaseRunner runner;
  runner.close_gate();
  OperationManager m(store_in(dir.path()), runner, {}, nullptr, nullptr, nullptr);
  REQUIRE(m.open().ok());
  REQUIRE(m.start("op-1", checkpoint("ws", "c1")).ok());
  REQUIRE(eventually([&] { return runner.running == 1; }));
  std::thread opener([&] {
    std::this_thread::sleep_for(50ms);
    runner.open_gate();
  });
  m.shutdown(10s);
  opener.join();
  CHECK(state_of(m, "op-1") == State::kSucceeded);
}

TEST_CASE("operations: the result and the metrics say where the time went and what moved") {
  agent::testing::TempDir dir;
  agent::testing::FakePhaseRunner runner;  // reports 512 bytes of "upload"; CRIU froze for 1 us
  auto metrics = std::make_shared<metrics::AgentMetrics>("test");
  OperationManager m(store_in(dir.path()), runner, {}, nullptr, nullptr, metrics);
  REQUIRE(m.open().ok());
  REQUIRE(m.start("op-1", checkpoint("ws", "c")).ok());
  REQUIRE(eventually([&] { return state_of(m, "op-1") == State::kSucceeded; }));
  const auto steps = m.get("op-1")->outcome->step_durations_ms;
  CHECK(steps.size() == 2);
  CHECK(steps.at("upload") >= 0);
  CHECK(steps.at("freeze") == 0);  // 1 us, in whole ms
  const std::string text = metrics->exposition();
  CHECK(text.find("wscp_agent_step_duration_seconds_count{step=\"upload\"} 1\n") != std::string::npos);
  CHECK(text.find("wscp_agent_step_duration_seconds_count{step=\"freeze\"} 1\n") != std::string::npos);
  CHECK(text.find("wscp_agent_step_duration_seconds_count{step=\"dump\"} 0\n") != std::string::npos);
  CHECK(text.find("wscp_agent_transferred_bytes_total{direction=\"upload\"} 512\n") != std::string::npos);

  // A failure counts the bytes it moved but no step; a restore's archive
  // that fails verification counts as the store's integrity error.
  runner.fail_with = Error(ErrorCode::kIntegrity, "segment 3 of the archive does not match its digest");
  REQUIRE(m.start("op-2", Request{Kind::kRestore, "ws2", "", "c", "", false, false}).ok());
  REQUIRE(eventually([&] { return state_of(m, "op-2") == State::kFailed; }));
  const std::string after = metrics->exposition();
  CHECK(after.find("wscp_agent_step_duration_seconds_count{step=\"upload\"} 1\n") != std::string::npos);
  CHECK(after.find("wscp_agent_transferred_bytes_total{direction=\"upload\"} 1024\n") != std::string::npos);
  CHECK(after.find("wscp_agent_store_errors_total{kind=\"integrity\"} 1\n") != std::string::npos);

  // A resume restores Podman's kept checkpoint: none of these steps.
  runner.fail_with.reset();
  REQUIRE(m.start("op-3", Request{Kind::kResume, "ws3", "", "c", "", false, false}).ok());
  REQUIRE(eventually([&] { return state_of(m, "op-3") == State::kSucceeded; }));
  CHECK(m.get("op-3")->outcome->step_durations_ms.empty());
  CHECK(metrics->exposition().find("wscp_agent_step_duration_seconds_count{step=\"upload\"} 1\n") != std::string::npos);
}
