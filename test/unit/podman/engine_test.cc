// One node's restore against a fake Podman: deadlines sized to the archive,
// settling, and bringing a stopped container back from its archive.
#include "podman/engine.h"

#include <doctest/doctest.h>

#include "podman/two_nodes.h"

namespace wscp::podman {
namespace {

using namespace std::chrono_literals;
using World = testing::TwoNodes;

// A checkpoint archive of `name` on node a (left running), in the spool as "x".
ContainerInfo archive_of(World& w, const std::string& name) {
  ContainerInfo facts = w.a.containers.at(name);
  auto sink = w.spool.create("x", OperationContext{});
  REQUIRE(sink.ok());
  CheckpointOptions leave;
  leave.leave_running = true;
  REQUIRE(w.a.checkpoint(name, leave, **sink, OperationContext{}).ok());
  REQUIRE((*sink)->close().ok());
  return facts;
}

TEST_CASE("the default settle time is a few seconds") {
  EngineConfig config;
  CHECK(config.settle_time >= 3s);
  CHECK(config.settle_time <= 10s);
}

TEST_CASE("a restore's deadline is a floor plus the archive's size at a conservative rate") {
  EngineConfig config;
  CHECK(restore_deadline(config, 1) >= config.restore_floor);
  CHECK(restore_deadline(config, 1) < config.restore_floor + 1s);
  // 8 GiB at 16 MiB/s: far beyond a fixed ten-minute stall limit.
  CHECK(restore_deadline(config, 8ull << 30) == config.restore_floor + 512s);
  CHECK(restore_deadline(config, 0) > restore_deadline(config, 8ull << 30));  // unknown: bounded as large

  World w;
  w.a.add_running("web", "ws-1");
  w.b.images["localhost/box:latest"] = "img-1";
  auto facts = archive_of(w, "web");
  auto archive = w.spool.open("x", OperationContext{});
  REQUIRE(archive.ok());
  auto restored = w.destination.restore(**archive, facts, {}, OperationContext{}, {1ull << 30, true});
  REQUIRE(restored.ok());
  CHECK(w.b.last_restore_timeout == restore_deadline(World::config(), 1ull << 30));
}

TEST_CASE("a restore counts only once the container has run for the settle time") {
  World w;
  w.a.add_running("web", "ws-1");
  w.b.images["localhost/box:latest"] = "img-1";
  auto facts = archive_of(w, "web");
  auto archive = w.spool.open("x", OperationContext{});
  REQUIRE(archive.ok());
  const auto started = w.clock->now();
  auto restored = w.destination.restore(**archive, facts, {}, OperationContext{});
  REQUIRE(restored.ok());
  CHECK(w.clock->now() - started >= World::config().settle_time);
  CHECK(restored->container.running());
}

TEST_CASE("a checkpoint call that failed waits for Podman to finish what it was doing") {
  World w;
  w.a.add_running("web", "ws-1");
  w.a.fail_checkpoint = Error(ErrorCode::kUnavailable, "checkpoint: timed out");
  w.a.checkpoint_stops_after_inspections = 5;  // Podman was still dumping
  NullSink sink;
  auto dumped = w.source.checkpoint("web", {}, sink, OperationContext{});
  REQUIRE_FALSE(dumped.ok());
  CHECK(dumped.error().code() == ErrorCode::kUnavailable);
  // Whoever resumes the workspace next sees it stopped, as Podman left it,
  // not a running state about to change.
  CHECK(w.a.containers.at("web").state == "exited");
  CHECK(w.a.inspections > 5);
}

TEST_CASE("a stopped container is brought back from its archive beside it, and given up only then") {
  World w;
  w.a.add_running("web", "ws-1");
  auto facts = archive_of(w, "web");
  w.a.containers.at("web").state = "exited";  // checkpointed, its kept checkpoint unusable
  auto archive = w.spool.open("x", OperationContext{});
  REQUIRE(archive.ok());

  SUBCASE("the archive restores: the new copy takes the name") {
    auto back = w.source.restore_replacing(**archive, facts, {}, OperationContext{});
    REQUIRE_MESSAGE(back.ok(), (back.ok() ? "" : back.error().describe()));
    CHECK(back->container.name == "web");
    CHECK(back->id == "ws-1");
    REQUIRE(w.a.containers.size() == 1);
    CHECK(w.a.containers.at("web").running());
    CHECK(w.a.containers.at("web").id != facts.id);  // the archive's copy, not the stopped one
  }
  SUBCASE("the archive does not restore: the stopped container stays as it was") {
    w.a.fail_restore = Error(ErrorCode::kRestoreFailed, "criu said no");
    auto back = w.source.restore_replacing(**archive, facts, {}, OperationContext{});
    REQUIRE_FALSE(back.ok());
    REQUIRE(w.a.containers.size() == 1);
    CHECK(w.a.containers.at("web").id == facts.id);
    CHECK(w.a.containers.at("web").state == "exited");
  }
  SUBCASE("established TCP connections restore only under the stopped container's id") {
    RestoreOptions tcp;
    tcp.tcp_established = true;
    auto back = w.source.restore_replacing(**archive, facts, tcp, OperationContext{});
    REQUIRE_FALSE(back.ok());
    CHECK(back.error().code() == ErrorCode::kUnsupported);
    CHECK(w.a.containers.at("web").id == facts.id);
    CHECK(w.a.imported_restores == 0);
  }
}

}  // namespace
}  // namespace wscp::podman
