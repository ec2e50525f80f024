#include "agent/evacuation/evacuator.h"

#include <doctest/doctest.h>

#include "agent/api/evacuation_routes.h"

#include <functional>
#include <thread>

#include "common/fake_clock.h"
#include "operations/fake_phase_runner.h"
#include "testing/eventually.h"
#include "testing/temp_dir.h"

using namespace wscp;
using namespace wscp::agent;
using namespace wscp::agent::evacuation;
using namespace std::chrono_literals;
using operations::Kind;
using operations::State;

namespace {

using agent::testing::eventually;

inventory::Workspace running(const std::string& id, std::optional<std::uint64_t> memory,
                             std::map<std::string, std::string> labels = {}, const std::string& project = "") {
  inventory::Workspace w;
  w.id = id;
  w.primary = id;  // the container carries its own name as the workspace label, as devcontainers do
  w.project = project;
  w.running = true;
  w.memory_bytes = memory;
  w.labels = std::move(labels);
  w.containers = {{w.primary, id + "-cid", "running"}};
  return w;
}

notices::TerminationNotice notice(notices::NoticeKind kind, std::chrono::system_clock::time_point deadline) {
  notices::TerminationNotice n;
  n.provider = notices::Provider::kAws;
  n.kind = kind;
  n.id = "terminate@2026-12-01T08:00:00Z";
  n.action = kind == notices::NoticeKind::kTermination ? "terminate" : "rebalance";
  n.deadline = deadline;
  n.detected_at = deadline - 2min;
  return n;
}

struct Fixture {
  agent::testing::TempDir dir;
  agent::testing::FakePhaseRunner runner;
  std::shared_ptr<wscp::testing::FakeClock> clock = std::make_shared<wscp::testing::FakeClock>();
  std::shared_ptr<metrics::AgentMetrics> metrics = std::make_shared<metrics::AgentMetrics>("test");
  std::unique_ptr<operations::OperationManager> manager;
  std::vector<inventory::Workspace> workspaces;
  std::optional<Error> list_error;
  std::map<std::string, migration::ClaimState> claims;  // by workspace id; others: none
  std::vector<nlohmann::json> published;
  std::vector<std::string> acknowledged;  // notice ids the provider was told of
  int acknowledge_attempts = 0;
  std::optional<Error> acknowledge_error;
  std::unique_ptr<Evacuator> evacuator;

  Fixture() {
    clock->sleep_for(std::chrono::hours(24 * 365 * 56));  // a plausible wall time
    start_agent();
  }

  // The agent (re)starts: a manager on the same records, a new evacuator.
  void start_agent() {
    evacuator.reset();
    manager.reset();
    auto store = operations::DirectoryOperationStore::open(dir.path());
    REQUIRE(store.ok());
    operations::ManagerOptions mo;
    mo.workers = 1;
    manager = std::make_unique<operations::OperationManager>(std::move(*store), runner, mo, clock, nullptr, metrics);
    REQUIRE(manager->open().ok());
    evacuator = make_evacuator();
  }

  std::unique_ptr<Evacuator> make_evacuator() {
    EvacuationOptions o;
    o.store = "main";
    o.priority_label = "wscp.dev/evacuation-priority";
    o.resume_grace = 60s;
    return std::make_unique<Evacuator>(
        *manager,
        [this]() -> Result<std::vector<inventory::Workspace>> {
          if (list_error) return *list_error;
          return workspaces;
        },
        [this](const std::string& store, const std::string& ws, const std::string&) -> Result<migration::ClaimState> {
          CHECK(store == "main");
          auto it = claims.find(ws);
          return it == claims.end() ? migration::ClaimState::kNone : it->second;
        },
        o, clock, nullptr, metrics, [this](const nlohmann::json& j) { published.push_back(j); },
        [this](const notices::TerminationNotice& n) -> Status {
          ++acknowledge_attempts;
          if (acknowledge_error) return *acknowledge_error;
          acknowledged.push_back(n.id);
          return Ok{};
        });
  }

  std::chrono::system_clock::time_point in(std::chrono::seconds d) const { return clock->wall_now() + d; }

  bool all_checkpoints_ended() {
    evacuator->tick();
    auto e = evacuator->current();
    for (const auto& w : e->workspaces) {
      if (w.state == EvacuationState::kCheckpointing) return false;
    }
    return true;
  }
};

std::vector<std::string> ids_of(const std::vector<Candidate>& c) {
  std::vector<std::string> out;
  for (const auto& x : c) out.push_back(x.workspace_id);
  return out;
}

}  // namespace

TEST_CASE("evacuation: order is priority first, then smallest first, unknown sizes last; stopped ones are left") {
  std::vector<inventory::Workspace> ws = {
      running("big", 900), running("small", 100), running("unsized", std::nullopt),
      running("vip", 5000, {{"wscp.dev/evacuation-priority", "10"}}),
      running("junk-priority", 50, {{"wscp.dev/evacuation-priority", "high"}}),
      running("low", 10, {{"wscp.dev/evacuation-priority", "-1"}}), running("mid", 300)};
  inventory::Workspace stopped = running("stopped", 1);
  stopped.running = false;
  ws.push_back(stopped);
  auto order = evacuation_order(ws, "wscp.dev/evacuation-priority");
  CHECK(ids_of(order) ==
        std::vector<std::string>{"vip", "junk-priority", "small", "mid", "big", "unsized", "low"});
}

TEST_CASE("evacuation: ids are stable per notice and workspace, and valid operation ids") {
  auto n = notice(notices::NoticeKind::kTermination, std::chrono::system_clock::now());
  const auto id = notice_checkpoint_id(n);
  CHECK(id == notice_checkpoint_id(n));
  CHECK(id.starts_with("notice-aws-"));
  auto other = n;
  other.id = "terminate@2026-12-01T09:00:00Z";
  CHECK(notice_checkpoint_id(other) != id);
  const auto op = notice_operation_id(id, "some/odd workspace:id", "checkpoint");
  CHECK(operations::validate_operation_id(op).ok());
  CHECK(op != notice_operation_id(id, "another", "checkpoint"));
  CHECK(op != notice_operation_id(id, "some/odd workspace:id", "resume"));
}

TEST_CASE("evacuation: a termination notice checkpoints every running workspace; a rebalance starts nothing") {
  Fixture f;
  f.workspaces = {running("big", 900), running("small", 100), running("shop", 200, {}, "shop")};
  f.evacuator->on_notice(notice(notices::NoticeKind::kRebalance, f.in(120s)));
  CHECK_FALSE(f.evacuator->current().has_value());
  CHECK(f.manager->list().empty());

  f.runner.close_gate();
  f.evacuator->on_notice(notice(notices::NoticeKind::kTermination, f.in(120s)));
  auto e = f.evacuator->current();
  REQUIRE(e.has_value());
  REQUIRE(e->workspaces.size() == 3);
  CHECK(e->workspaces[0].workspace.workspace_id == "small");
  CHECK(e->workspaces[2].workspace.workspace_id == "big");
  REQUIRE(f.published.size() == 1);  // at once, before any checkpoint ends
  CHECK(f.published.back().at("workspaces").size() == 3);
  CHECK(f.published.back().at("workspaces")[0].at("state") == "checkpointing");

  f.runner.open_gate();
  REQUIRE(eventually([&] { return f.all_checkpoints_ended(); }));
  auto requests = f.runner.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].workspace == "small");  // started in evacuation order (one worker)
  CHECK(requests[1].project == "shop");         // a compose project goes whole
  CHECK(requests[1].workspace.empty());
  for (const auto& r : requests) {
    CHECK(r.kind == Kind::kCheckpoint);
    CHECK(r.checkpoint_id == e->checkpoint_id);
    CHECK(r.store == "main");
  }
  e = f.evacuator->current();
  for (const auto& w : e->workspaces) {
    CHECK(w.state == EvacuationState::kCheckpointed);
    CHECK(w.deadline_met == std::optional<bool>(true));
  }
  const auto last = f.published.back();
  CHECK(last.at("checkpointId") == e->checkpoint_id);
  CHECK(last.at("workspaces")[1].at("project") == "shop");
  CHECK(last.at("workspaces")[1].at("deadlineMet") == true);
  CHECK(f.metrics->exposition().find("wscp_agent_notice_deadlines_total{outcome=\"met\"} 3") != std::string::npos);

  // A second notice while this one runs starts nothing more.
  auto again = notice(notices::NoticeKind::kTermination, f.in(120s));
  again.id = "another";
  f.evacuator->on_notice(again);
  CHECK(f.runner.runs == 3);
}

TEST_CASE("evacuation: a checkpoint durable after the deadline is recorded as missed") {
  Fixture f;
  f.workspaces = {running("slow", 100)};
  f.runner.close_gate();
  f.evacuator->on_notice(notice(notices::NoticeKind::kTermination, f.in(30s)));
  REQUIRE(eventually([&] { return f.runner.running == 1; }));
  f.clock->sleep_for(31s);  // the run is held in the gate meanwhile
  f.runner.open_gate();
  REQUIRE(eventually([&] { return f.all_checkpoints_ended(); }));
  auto w = f.evacuator->current()->workspaces.at(0);
  CHECK(w.state == EvacuationState::kCheckpointed);
  CHECK(w.deadline_met == std::optional<bool>(false));
  CHECK(f.metrics->exposition().find("wscp_agent_notice_deadlines_total{outcome=\"missed\"} 1") != std::string::npos);
}

TEST_CASE("evacuation: unclaimed after deadline and grace, a workspace resumes in place; a claimed one has moved") {
  Fixture f;
  f.workspaces = {running("stays", 100), running("went", 200)};
  f.runner.fail_if = [](const operations::Request& r) -> std::optional<Error> {
    if (r.kind == Kind::kResume && r.workspace == "went")
      return Error(ErrorCode::kConflict, "the checkpoint is restored by node node-2");
    return std::nullopt;
  };
  f.claims["went"] = migration::ClaimState::kRestored;
  f.evacuator->on_notice(notice(notices::NoticeKind::kTermination, f.in(30s)));
  REQUIRE(eventually([&] { return f.all_checkpoints_ended(); }));

  f.clock->sleep_for(30s + 59s);  // not yet past deadline + grace
  f.evacuator->tick();
  CHECK(f.runner.runs == 2);
  f.clock->sleep_for(2s);
  f.evacuator->tick();
  REQUIRE(eventually([&] {
    f.evacuator->tick();
    auto e = f.evacuator->current();
    return e->workspaces[0].state != EvacuationState::kResuming && e->workspaces[1].state != EvacuationState::kResuming &&
           e->workspaces[0].state != EvacuationState::kCheckpointed;
  }));
  auto e = f.evacuator->current();
  CHECK(e->workspaces[0].state == EvacuationState::kResumed);
  CHECK(e->workspaces[1].state == EvacuationState::kMoved);
  auto requests = f.runner.requests();
  REQUIRE(requests.size() == 4);
  CHECK(requests[2].kind == Kind::kResume);
  CHECK(requests[2].workspace == "stays");  // the workspace id, as resume takes it
  CHECK(requests[2].checkpoint_id == e->checkpoint_id);
  CHECK(f.published.back().at("workspaces")[0].at("state") == "resumed");
  CHECK(f.published.back().at("workspaces")[1].at("state") == "moved");
}

TEST_CASE("evacuation: a failed checkpoint is reported with its error and never resumed by the evacuation") {
  Fixture f;
  f.workspaces = {running("broken", 100)};
  f.runner.fail_with = Error(ErrorCode::kUnavailable, "the store is unreachable");
  f.evacuator->on_notice(notice(notices::NoticeKind::kTermination, f.in(30s)));
  REQUIRE(eventually([&] { return f.all_checkpoints_ended(); }));
  f.clock->sleep_for(10min);
  f.evacuator->tick();
  auto w = f.evacuator->current()->workspaces.at(0);
  CHECK(w.state == EvacuationState::kFailed);
  CHECK(w.deadline_met == std::optional<bool>(false));
  CHECK(w.error.find("unreachable") != std::string::npos);
  CHECK(w.resume_operation.empty());
  CHECK(f.runner.runs == 1);
}

TEST_CASE("evacuation: the notice is acknowledged once every checkpoint is durable, retried while that fails") {
  Fixture f;
  f.workspaces = {running("a", 100), running("b", 200)};
  f.runner.close_gate();
  f.acknowledge_error = Error(ErrorCode::kUnavailable, "metadata service down");
  f.evacuator->on_notice(notice(notices::NoticeKind::kTermination, f.in(120s)));
  f.evacuator->tick();
  CHECK(f.acknowledge_attempts == 0);  // nothing durable yet: not even tried
  f.runner.open_gate();
  REQUIRE(eventually([&] { return f.all_checkpoints_ended(); }));
  CHECK_FALSE(f.evacuator->current()->acknowledged);  // the call failed: tried again
  f.acknowledge_error.reset();
  f.evacuator->tick();
  f.evacuator->tick();
  CHECK(f.acknowledged == std::vector<std::string>{"terminate@2026-12-01T08:00:00Z"});
  CHECK(f.evacuator->current()->acknowledged);
  CHECK(f.published.back().at("acknowledged") == true);
}

TEST_CASE("evacuation: a failed checkpoint keeps the notice unacknowledged, so the provider waits its full window") {
  Fixture f;
  f.workspaces = {running("ok", 100), running("broken", 200)};
  f.runner.fail_if = [](const operations::Request& r) -> std::optional<Error> {
    if (r.workspace == "broken") return Error(ErrorCode::kUnavailable, "the store is unreachable");
    return std::nullopt;
  };
  f.evacuator->on_notice(notice(notices::NoticeKind::kTermination, f.in(120s)));
  REQUIRE(eventually([&] { return f.all_checkpoints_ended(); }));
  f.evacuator->tick();
  CHECK(f.acknowledge_attempts == 0);
  CHECK_FALSE(f.evacuator->current()->acknowledged);
}

TEST_CASE("evacuation: the same notice after an agent restart is the same operations, never a second dump") {
  Fixture f;
  f.workspaces = {running("a", 100), running("b", 200)};
  auto n = notice(notices::NoticeKind::kTermination, f.in(60s));
  f.evacuator->on_notice(n);
  REQUIRE(eventually([&] { return f.all_checkpoints_ended(); }));
  REQUIRE(f.runner.runs == 2);
  for (auto& w : f.workspaces) w.running = false;  // checkpointed: they no longer run
  f.start_agent();  // the agent restarted; its operations' records remain
  f.evacuator->on_notice(n);
  CHECK(f.runner.runs == 2);
  REQUIRE(f.evacuator->current()->workspaces.size() == 2);
  REQUIRE(eventually([&] { return f.all_checkpoints_ended(); }));
  const auto e = f.evacuator->current();
  REQUIRE(e.has_value());
  for (const auto& w : e->workspaces) CHECK(w.state == EvacuationState::kCheckpointed);
}

TEST_CASE("evacuation: checkpoints a kill -9 interrupted before their seal are taken again under new ids; a sealed "
          "one is kept") {
  Fixture f;
  f.workspaces = {running("a", 100), running("b", 200), running("c", 300)};
  auto n = notice(notices::NoticeKind::kTermination, f.in(60s));
  const std::string cp = notice_checkpoint_id(n);
  auto request_for = [&](const std::string& ws) {
    operations::Request r;
    r.kind = Kind::kCheckpoint;
    r.workspace = ws;
    r.checkpoint_id = cp;
    r.store = "main";
    return r;
  };
  {
    // What the killed agent left: "a" was dumping, "b" had not begun, "c" was sealed.
    f.evacuator.reset();
    f.manager.reset();
    auto store = operations::DirectoryOperationStore::open(f.dir.path());
    REQUIRE(store.ok());
    for (const auto& [ws, state] : {std::pair{"a", State::kRunning}, {"b", State::kPending}, {"c", State::kRunning}}) {
      operations::Operation op;
      op.id = notice_operation_id(cp, ws, "checkpoint");
      op.request = request_for(ws);
      op.state = state;
      if (state == State::kRunning) op.started_at = "2026-01-01T00:00:00Z";
      REQUIRE((*store)->save(op).ok());
    }
  }
  f.runner.recovered = {
      {cp, "a", Kind::kCheckpoint, "resumed on the source", false, std::nullopt,
       migration::RecoveryAction::kResumedOnSource, {}},
      {cp, "c", Kind::kCheckpoint, "sealed; waiting", true, std::nullopt, migration::RecoveryAction::kAwaitingDecision, {}}};
  f.start_agent();
  f.evacuator->on_notice(n);
  REQUIRE(eventually([&] { return f.all_checkpoints_ended(); }));
  const auto e = f.evacuator->current();
  REQUIRE(e->workspaces.size() == 3);
  for (const auto& w : e->workspaces) {
    INFO(w.workspace.workspace_id);
    CHECK(w.state == EvacuationState::kCheckpointed);
    if (w.workspace.workspace_id == "c") {
      CHECK(w.checkpoint_attempt == 0);  // sealed before the kill: not dumped again
      CHECK(checkpoint_id_of(*e, w) == cp);
    } else {
      CHECK(w.checkpoint_attempt == 1);
      CHECK(checkpoint_id_of(*e, w) == cp + "-r1");
      CHECK(w.checkpoint_operation == notice_operation_id(cp, w.workspace.workspace_id, "checkpoint") + "-r1");
    }
  }
  auto requests = f.runner.requests();
  REQUIRE(requests.size() == 2);  // a and b again; never c
  for (const auto& r : requests) CHECK(r.checkpoint_id == cp + "-r1");
  const auto published = f.published.back().at("workspaces");
  CHECK(published.dump().find(cp + "-r1") != std::string::npos);

  // Another restart adopts the second attempts, not the first ones.
  f.start_agent();
  f.evacuator->on_notice(n);
  CHECK(f.runner.requests().size() == 2);
  REQUIRE(eventually([&] { return f.all_checkpoints_ended(); }));
  const auto after = f.evacuator->current();
  for (const auto& w : after->workspaces) CHECK(w.state == EvacuationState::kCheckpointed);
}

TEST_CASE("evacuation: an interrupted checkpoint past the deadline is not taken again") {
  Fixture f;
  f.workspaces = {running("a", 100)};
  auto n = notice(notices::NoticeKind::kTermination, f.in(60s));
  const std::string cp = notice_checkpoint_id(n);
  {
    f.evacuator.reset();
    f.manager.reset();
    auto store = operations::DirectoryOperationStore::open(f.dir.path());
    REQUIRE(store.ok());
    operations::Operation op;
    op.id = notice_operation_id(cp, "a", "checkpoint");
    op.request.kind = Kind::kCheckpoint;
    op.request.workspace = "a";
    op.request.checkpoint_id = cp;
    op.request.store = "main";
    op.state = State::kPending;
    REQUIRE((*store)->save(op).ok());
  }
  f.start_agent();
  f.clock->sleep_for(2min);  // past the deadline
  f.evacuator->on_notice(n);
  f.evacuator->tick();
  auto w = f.evacuator->current()->workspaces.at(0);
  CHECK(w.state == EvacuationState::kFailed);
  CHECK(w.deadline_met == std::optional<bool>(false));
  CHECK(f.runner.runs == 0);
}

TEST_CASE("evacuation: a listing that fails is published at once and tried again until it works") {
  Fixture f;
  f.workspaces = {running("a", 100)};
  f.list_error = Error(ErrorCode::kUnavailable, "cannot reach Podman");
  f.evacuator->on_notice(notice(notices::NoticeKind::kTermination, f.in(60s)));
  REQUIRE(f.published.size() == 1);
  CHECK(f.published[0].at("workspaces").empty());
  CHECK(f.published[0].at("notice").at("kind") == "termination");
  f.evacuator->tick();
  CHECK(f.runner.runs == 0);
  f.list_error.reset();  // Podman answers again
  REQUIRE(eventually([&] { return f.all_checkpoints_ended() && !f.evacuator->current()->workspaces.empty(); }));
  CHECK(f.runner.runs == 1);
  CHECK(f.evacuator->current()->workspaces.at(0).state == EvacuationState::kCheckpointed);
}

TEST_CASE("evacuation: a checkpoint the manager refuses for now is started once it can be") {
  Fixture f;
  f.workspaces = {running("busy", 100)};
  f.runner.close_gate();
  REQUIRE(f.manager->start("someone-else", {Kind::kCheckpoint, "busy", "", "c0", "main", false, false}).ok());
  f.evacuator->on_notice(notice(notices::NoticeKind::kTermination, f.in(60s)));
  auto w = f.evacuator->current()->workspaces.at(0);
  CHECK_FALSE(w.started);
  CHECK(w.state == EvacuationState::kCheckpointing);
  CHECK(w.error.find("someone-else") != std::string::npos);
  f.runner.open_gate();
  REQUIRE(eventually([&] {
    f.evacuator->tick();
    return f.evacuator->current()->workspaces.at(0).state == EvacuationState::kCheckpointed;
  }));
  CHECK(f.runner.runs == 2);
}

TEST_CASE("evacuation: a resume refused while a restore is in progress is tried again, not taken for a move") {
  Fixture f;
  f.workspaces = {running("pending", 100)};
  int refusals = 1;
  f.runner.fail_if = [&refusals](const operations::Request& r) -> std::optional<Error> {
    if (r.kind == Kind::kResume && refusals-- > 0) return Error(ErrorCode::kConflict, "the checkpoint is restoring");
    return std::nullopt;
  };
  f.claims["pending"] = migration::ClaimState::kRestoring;
  f.evacuator->on_notice(notice(notices::NoticeKind::kTermination, f.in(30s)));
  REQUIRE(eventually([&] { return f.all_checkpoints_ended(); }));
  f.clock->sleep_for(30s + 61s);
  REQUIRE(eventually([&] {
    f.evacuator->tick();
    return f.runner.runs == 2 && f.evacuator->current()->workspaces.at(0).state == EvacuationState::kCheckpointed;
  }));
  auto w = f.evacuator->current()->workspaces.at(0);
  CHECK(w.error.find("restoring") != std::string::npos);
  f.claims["pending"] = migration::ClaimState::kAbandoned;  // that restore gave up
  f.evacuator->tick();
  CHECK(f.runner.runs == 2);  // not before the retry interval
  f.clock->sleep_for(11s);
  REQUIRE(eventually([&] {
    f.evacuator->tick();
    return f.evacuator->current()->workspaces.at(0).state == EvacuationState::kResumed;
  }));
  CHECK(f.runner.runs == 3);
  CHECK(f.evacuator->current()->workspaces.at(0).resume_operation.ends_with("-resume-1"));
}

TEST_CASE("evacuation: GET /v1/evacuation is 404 before a notice and the published state after") {
  Fixture f;
  f.workspaces = {running("a", 100)};
  api::Router router;
  api::add_evacuation_routes(router, *f.evacuator);
  auto get = [&] {
    auto m = router.match("GET", "/v1/evacuation");
    REQUIRE(std::holds_alternative<api::Router::Match>(m));
    auto& match = std::get<api::Router::Match>(m);
    api::Request r;
    r.method = "GET";
    r.path = "/v1/evacuation";
    r.route = match.route;
    return (*match.handler)(r);
  };
  CHECK(get().status == 404);
  f.evacuator->on_notice(notice(notices::NoticeKind::kTermination, f.in(60s)));
  REQUIRE(eventually([&] { return f.all_checkpoints_ended(); }));
  auto r = get();
  CHECK(r.status == 200);
  CHECK(nlohmann::json::parse(r.body) == f.published.back());
}
