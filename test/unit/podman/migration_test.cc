// The migration's decisions, against fake nodes: where the workspace ends up
// after each kind of failure.
#include "podman/migration.h"

#include <doctest/doctest.h>

#include "common/fake_clock.h"
#include "podman/fake_podman_client.h"
#include "podman/memory_spool.h"

namespace wscp::podman {
namespace {

using testing::FakeClock;
using testing::FakePodman;
using testing::MemorySpool;

struct World {
  FakePodman a, b;
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  EngineConfig config() {
    EngineConfig c;
    c.soft_dirty_available = [] { return false; };
    return c;
  }
  Engine source{a, config(), clock};
  Engine destination{b, config(), clock};
  MemorySpool spool;

  Result<MigrationResult> migrate_ws(const std::string& name) {
    return migrate(source, destination, spool, {name, {}, {}}, OperationContext{});
  }
};

TEST_CASE("a migration moves the workspace and ships the image the destination lacks") {
  World w;
  w.a.add_running("web", "ws-1");
  auto r = w.migrate_ws("ws-1");  // found by workspace id
  REQUIRE(r.ok());
  CHECK(r->outcome == MigrationOutcome::kMigrated);
  CHECK(r->image_shipped);
  CHECK(r->workspace.id == "ws-1");
  CHECK(w.b.containers.at("web").state == "running");
  CHECK(w.b.images.at("localhost/box:latest") == "img-1");
  CHECK(w.a.containers.empty());
  CHECK(w.spool.objects.count("containers/web.tar") == 1);
}

TEST_CASE("an image already on the destination is not shipped again") {
  World w;
  w.a.add_running("web", "ws-1");
  w.b.images["localhost/box:latest"] = "img-1";
  auto r = w.migrate_ws("web");
  REQUIRE(r.ok());
  CHECK_FALSE(r->image_shipped);
}

TEST_CASE("a failed destination restore leaves nothing there and resumes the workspace on the source") {
  World w;
  w.a.add_running("web", "ws-1");
  w.b.fail_restore = Error(ErrorCode::kRestoreFailed, "criu said no");
  auto r = w.migrate_ws("web");
  REQUIRE(r.ok());
  CHECK(r->outcome == MigrationOutcome::kKeptOnSource);
  REQUIRE(r->failure.has_value());
  CHECK(r->failure->message().find("criu said no") != std::string::npos);
  CHECK(w.b.containers.empty());  // the half-made container was removed
  CHECK(w.a.containers.at("web").state == "running");
  CHECK(w.a.in_place_restores == 1);
}

TEST_CASE("when the kept checkpoint cannot be used, the source is restored from the archive") {
  World w;
  w.a.add_running("web", "ws-1");
  w.b.fail_restore = Error(ErrorCode::kRestoreFailed, "criu said no");
  w.a.fail_in_place = Error(ErrorCode::kRestoreFailed, "checkpoint files gone");
  auto r = w.migrate_ws("web");
  REQUIRE(r.ok());
  CHECK(r->outcome == MigrationOutcome::kKeptOnSource);
  CHECK(w.a.imported_restores == 1);
  CHECK(w.a.containers.at("web").state == "running");
}

TEST_CASE("a checkpoint that fails leaves the workspace running and touches nothing else") {
  World w;
  w.a.add_running("web", "ws-1");
  w.a.fail_checkpoint = Error(ErrorCode::kCheckpointFailed, "dump failed");
  auto r = w.migrate_ws("web");
  REQUIRE(r.ok());
  CHECK(r->outcome == MigrationOutcome::kKeptOnSource);
  CHECK(w.a.containers.at("web").state == "running");
  CHECK(w.a.in_place_restores == 0);
  CHECK(w.spool.objects.empty());
  CHECK(w.b.containers.empty());
}

TEST_CASE("an archive that cannot be made durable brings the workspace back in place") {
  World w;
  w.a.add_running("web", "ws-1");
  w.spool.fail_close = true;
  auto r = w.migrate_ws("web");
  REQUIRE(r.ok());
  CHECK(r->outcome == MigrationOutcome::kKeptOnSource);
  CHECK(r->failure->code() == ErrorCode::kUnavailable);
  CHECK(w.a.in_place_restores == 1);
  CHECK(w.a.containers.at("web").state == "running");
  CHECK(w.b.containers.empty());
}

TEST_CASE("when every way back fails the outcome says so and where the archive is") {
  World w;
  w.a.add_running("web", "ws-1");
  w.b.fail_restore = Error(ErrorCode::kRestoreFailed, "criu said no");
  w.a.fail_in_place = Error(ErrorCode::kRestoreFailed, "gone");
  w.a.fail_restore = Error(ErrorCode::kRestoreFailed, "also no");
  auto r = w.migrate_ws("web");
  REQUIRE(r.ok());
  CHECK(r->outcome == MigrationOutcome::kStopped);
  CHECK(r->failure->message().find("memory:containers/web.tar") != std::string::npos);
  CHECK(w.a.containers.empty());  // no half-made container on the source either
}

TEST_CASE("a destination without CRIU is refused before the workspace is touched") {
  World w;
  w.a.add_running("web", "ws-1");
  w.b.runtime_version = "crun version 1.21 +SYSTEMD";
  auto r = w.migrate_ws("web");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kUnsupported);
  CHECK(w.a.containers.at("web").state == "running");
}

TEST_CASE("pre-flight: each missing piece is named before anything starts") {
  World w;
  auto& facts = w.a.add_running("web", "ws-1");
  w.b.images["localhost/box:latest"] = "img-1";

  SUBCASE("another OCI runtime") {
    w.b.runtime = "runc";
    auto s = w.destination.preflight(facts, {});
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code() == ErrorCode::kUnsupported);
    CHECK(s.error().message().find("runc") != std::string::npos);
  }
  SUBCASE("the image name resolves to another image") {
    w.b.images["localhost/box:latest"] = "img-2";
    auto s = w.destination.preflight(facts, {});
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code() == ErrorCode::kConflict);
  }
  SUBCASE("the name is taken") {
    w.b.add_running("web", "other");
    auto s = w.destination.preflight(facts, {});
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code() == ErrorCode::kConflict);
  }
  SUBCASE("a new name with established TCP connections") {
    RestoreOptions o;
    o.name = "web2";
    o.tcp_established = true;
    auto s = w.destination.preflight(facts, o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code() == ErrorCode::kInvalidArgument);
  }
  SUBCASE("a volume of the same name") {
    facts.mounts.push_back({"volume", "data", "/var/lib/x", "/data"});
    w.b.volumes.insert("data");
    auto s = w.destination.preflight(facts, {});
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message().find("volume data") != std::string::npos);
    RestoreOptions o;
    o.ignore_volumes = true;
    CHECK(w.destination.preflight(facts, o).ok());
  }
  SUBCASE("a bind source missing on this node") {
    facts.mounts.push_back({"bind", "", "/definitely/not/here", "/src"});
    auto s = w.destination.preflight(facts, {});
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code() == ErrorCode::kNotFound);
    CHECK(s.error().message().find("/definitely/not/here") != std::string::npos);
  }
  SUBCASE("a missing network is created") {
    facts.networks.push_back("backend");
    CHECK(w.destination.preflight(facts, {}).ok());
    CHECK(w.b.networks.count("backend") == 1);
  }
}

TEST_CASE("a container without the workspace label is not a workspace and is left alone") {
  World w;
  auto& c = w.a.add_running("web", "ws-1");
  c.labels.clear();
  auto r = w.migrate_ws("web");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kInvalidArgument);
  CHECK(r.error().message().find("dev.containers.id") != std::string::npos);
  CHECK(w.a.containers.at("web").state == "running");
  CHECK(w.b.containers.empty());
}

TEST_CASE("a restore whose container lost its label is undone") {
  World w;
  w.a.add_running("web", "ws-1");
  w.b.images["localhost/box:latest"] = "img-1";
  podman::ContainerInfo facts = w.a.containers.at("web");
  facts.labels["dev.containers.id"] = "ws-other";  // the archive says another workspace
  MemorySpool spool;
  auto sink = spool.create("x");
  REQUIRE(w.a.checkpoint("web", {}, **sink, OperationContext{}).ok());
  REQUIRE((*sink)->close().ok());
  auto archive = spool.open("x");
  auto r = w.destination.restore(**archive, facts, {}, OperationContext{});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message().find("checkpoint is of workspace ws-other") != std::string::npos);
  CHECK(w.b.containers.empty());
}

TEST_CASE("what cannot be checkpointed is refused before the workspace is touched") {
  World w;
  auto& c = w.a.add_running("web", "ws-1");
  SUBCASE("Podman-level dependencies") {
    c.dependencies = {"db"};
    auto r = w.migrate_ws("web");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::kUnsupported);
    CHECK(r.error().message().find("db") != std::string::npos);
    CHECK(c.state == "running");
  }
  SUBCASE("a stopped container") {
    c.state = "exited";
    auto r = w.migrate_ws("web");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::kInvalidArgument);
    CHECK(w.a.in_place_restores == 0);
  }
  SUBCASE("pre-copy without soft-dirty tracking") {
    MigrationRequest request{"web", {}, {}};
    request.checkpoint.pre_checkpoint = true;
    auto r = migrate(w.source, w.destination, w.spool, request, OperationContext{});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::kUnsupported);
  }
  CHECK(w.spool.objects.empty());
}

TEST_CASE("a destination that would refuse is found out before the checkpoint") {
  World w;
  w.a.add_running("web", "ws-1");
  w.b.add_running("web", "someone-else");
  auto r = w.migrate_ws("web");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kConflict);
  CHECK(w.a.containers.at("web").state == "running");
  CHECK(w.spool.objects.empty());
  CHECK(w.b.containers.at("web").labels.at("dev.containers.id") == "someone-else");
}

TEST_CASE("a restore that fails because the name was taken meanwhile leaves that container alone") {
  World w;
  w.a.add_running("web", "ws-1");
  w.b.images["localhost/box:latest"] = "img-1";
  // Podman answers "already in use": whatever holds the name is not ours.
  w.b.fail_restore = Error(ErrorCode::kConflict, "name web is already in use");
  w.b.failed_restore_leaves_container = true;
  auto r = w.migrate_ws("web");
  REQUIRE(r.ok());
  CHECK(r->outcome == MigrationOutcome::kKeptOnSource);
  CHECK(r->failure->code() == ErrorCode::kConflict);
  CHECK(w.b.containers.count("web") == 1);
  CHECK(w.a.containers.at("web").state == "running");
}

TEST_CASE("getting back on the source repeats the options the checkpoint needs") {
  World w;
  w.a.add_running("web", "ws-1");
  w.b.fail_restore = Error(ErrorCode::kRestoreFailed, "criu said no");
  MigrationRequest request{"web", {}, {}};
  request.checkpoint.tcp_established = true;
  request.restore.tcp_established = true;
  auto r = migrate(w.source, w.destination, w.spool, request, OperationContext{});
  REQUIRE(r.ok());
  CHECK(r->outcome == MigrationOutcome::kKeptOnSource);
  REQUIRE(w.a.last_in_place_options.has_value());
  CHECK(w.a.last_in_place_options->tcp_established);
}

}  // namespace
}  // namespace wscp::podman
