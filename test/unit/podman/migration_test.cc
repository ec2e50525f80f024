// The migration's decisions, against fake nodes: where the workspace ends up
// after each kind of failure.
#include "podman/migration.h"

#include <doctest/doctest.h>

#include "podman/libpod_errors.h"
#include "podman/two_nodes.h"

namespace wscp::podman {
namespace {

using testing::FakePodman;
using testing::MemorySpool;
using World = testing::TwoNodes;

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

TEST_CASE("when every way back fails the outcome says so, and the kept copy is never removed first") {
  World w;
  w.a.add_running("web", "ws-1");
  w.b.fail_restore = Error(ErrorCode::kRestoreFailed, "criu said no");
  w.a.fail_in_place = Error(ErrorCode::kRestoreFailed, "gone");
  w.a.fail_restore = Error(ErrorCode::kRestoreFailed, "also no");
  auto r = w.migrate_ws("web");
  REQUIRE(r.ok());
  CHECK(r->outcome == MigrationOutcome::kStopped);
  CHECK(r->failure->message().find("memory:containers/web.tar") != std::string::npos);
  // The stopped container with Podman's kept checkpoint is still there, and
  // nothing half-made beside it.
  REQUIRE(w.a.containers.size() == 1);
  CHECK(w.a.containers.at("web").id == "id-web");
  CHECK_FALSE(w.a.containers.at("web").running());
}

TEST_CASE("a transient error restoring in place is retried in place") {
  World w;
  w.a.add_running("web", "ws-1");
  w.b.fail_restore = Error(ErrorCode::kRestoreFailed, "criu said no");
  w.a.fail_in_place = Error(ErrorCode::kUnavailable, "podman.sock: connection reset by peer");
  w.a.fail_in_place_times = 1;
  auto r = w.migrate_ws("web");
  REQUIRE(r.ok());
  CHECK(r->outcome == MigrationOutcome::kKeptOnSource);
  CHECK(w.a.in_place_restores == 2);
  CHECK(w.a.imported_restores == 0);  // the kept checkpoint was not given up for the archive
  CHECK(w.a.containers.at("web").id == "id-web");
  CHECK(w.a.containers.at("web").running());
}

TEST_CASE("recovery has its own cancellation: a migration cancelled mid-restore still brings the workspace back") {
  World w;
  w.a.add_running("web", "ws-1");
  w.b.on_restore = [](const OperationContext& c) { c.cancel->cancel(); };  // the caller gives up
  w.a.fail_in_place = Error(ErrorCode::kRestoreFailed, "checkpoint files gone");  // the archive is needed
  OperationContext ctx;
  auto r = migrate(w.source, w.destination, w.spool, {"web", {}, {}}, ctx);
  REQUIRE(r.ok());
  INFO((r->failure ? r->failure->describe() : ""));
  CHECK(r->outcome == MigrationOutcome::kKeptOnSource);
  CHECK(w.a.containers.at("web").running());
  CHECK(w.a.containers.size() == 1);
}

TEST_CASE("leaveRunning is refused for a migration: the source's later work would be lost") {
  World w;
  w.a.add_running("web", "ws-1");
  MigrationRequest request{"web", {}, {}};
  request.checkpoint.leave_running = true;
  auto r = migrate(w.source, w.destination, w.spool, request, OperationContext{});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kInvalidArgument);
  CHECK(r.error().message().find("leaveRunning") != std::string::npos);
  CHECK(w.a.containers.at("web").running());
  CHECK(w.b.containers.empty());
  CHECK(w.spool.objects.empty());
}

TEST_CASE("a restored container that stops within the settle time is a failed migration; the source copy is kept") {
  World w;
  w.a.add_running("web", "ws-1");
  w.b.restored_stops_after_inspections = 3;  // about a second after the restore
  auto r = w.migrate_ws("web");
  REQUIRE(r.ok());
  CHECK(r->outcome == MigrationOutcome::kKeptOnSource);
  CHECK(w.b.containers.empty());
  CHECK(w.a.containers.at("web").running());
}

TEST_CASE("a restore the client gave up on is awaited: the source is not resumed while Podman carries on") {
  World w;
  w.a.add_running("web", "ws-1");
  w.b.restore_times_out_then_appears_after = 5;
  auto r = w.migrate_ws("web");
  REQUIRE(r.ok());
  INFO((r->failure ? r->failure->describe() : ""));
  CHECK(w.running_copies("web") == 1);
  for (int i = 0; i < 10; ++i) (void)w.b.inspect_container("web");  // later on
  CHECK(w.running_copies("web") == 1);
  CHECK(r->outcome == MigrationOutcome::kMigrated);
  CHECK(w.a.containers.empty());
}

TEST_CASE("a restore the client gave up on and Podman then failed is cleaned up before the source resumes") {
  World w;
  w.a.add_running("web", "ws-1");
  w.b.restore_times_out_then_appears_after = 3;
  w.b.late_restore_fails = true;
  auto r = w.migrate_ws("web");
  REQUIRE(r.ok());
  CHECK(r->outcome == MigrationOutcome::kKeptOnSource);
  for (int i = 0; i < 10; ++i) (void)w.b.inspect_container("web");  // later on
  CHECK(w.b.containers.empty());
  CHECK(w.a.containers.at("web").running());
}

TEST_CASE("when the destination cannot tell whether its restore went through, the source is not resumed") {
  World w;
  w.a.add_running("web", "ws-1");
  w.b.restore_times_out_then_appears_after = 1'000'000;
  w.b.on_restore = [&](const OperationContext&) {
    w.b.fail_inspect = Error(ErrorCode::kUnavailable, "podman.sock: connection refused");
  };
  auto r = w.migrate_ws("web");
  REQUIRE(r.ok());
  REQUIRE(r->failure.has_value());
  INFO(r->failure->describe());
  CHECK(r->outcome == MigrationOutcome::kStopped);
  CHECK(r->failure->code() == ErrorCode::kDeadlineExceeded);
  CHECK(r->failure->message().find("not resumed") != std::string::npos);
  CHECK(w.a.in_place_restores == 0);
  CHECK_FALSE(w.a.containers.at("web").running());  // kept, stopped, with its checkpoint
}

TEST_CASE("a failed restore whose container runs and cannot be removed does not resume the source") {
  World w;
  w.a.add_running("web", "ws-1");
  w.b.fail_restore = Error(ErrorCode::kRestoreFailed, "the answer was lost");
  w.b.failed_restore_leaves_state = "running";
  w.b.fail_remove = Error(ErrorCode::kUnavailable, "podman.sock: connection reset");
  auto r = w.migrate_ws("web");
  REQUIRE(r.ok());
  CHECK(r->outcome == MigrationOutcome::kStopped);
  CHECK(w.running_copies("web") == 1);
  CHECK(w.a.in_place_restores == 0);
}

TEST_CASE("a failed restore that leaves a stopped container it cannot remove still resumes the source") {
  World w;
  w.a.add_running("web", "ws-1");
  w.b.fail_restore = Error(ErrorCode::kRestoreFailed, "criu said no");
  w.b.fail_remove = Error(ErrorCode::kUnavailable, "podman.sock: connection reset");
  auto r = w.migrate_ws("web");
  REQUIRE(r.ok());
  CHECK(r->outcome == MigrationOutcome::kKeptOnSource);
  CHECK(r->failure->message().find("left there, not running") != std::string::npos);
  CHECK(w.a.containers.at("web").running());
  CHECK_FALSE(w.b.containers.at("web").running());
}

TEST_CASE("a restore refused because a host port is in use removes the half-restored container") {
  World w;
  w.a.add_running("web", "ws-1");
  // What Podman 5.4 answers when a published port is taken on the node.
  w.b.fail_restore = libpod_error_from_response(
      500,
      R"({"cause":"address already in use","message":"cannot listen on the TCP port: listen tcp4 :8080: bind: address already in use","response":500})",
      "restore", ErrorCode::kRestoreFailed);
  w.b.failed_restore_leaves_container = true;
  auto r = w.migrate_ws("web");
  REQUIRE(r.ok());
  CHECK(r->outcome == MigrationOutcome::kKeptOnSource);
  CHECK(w.b.containers.empty());
  CHECK(w.a.containers.at("web").running());
}

TEST_CASE("two nodes shipping the same image write its shared object once") {
  World w;
  const auto& facts = w.a.add_running("web", "ws-1");
  // Another pair of nodes ships the same image at the same moment.
  FakePodman c, d;
  c.images[facts.image_name] = facts.image_id;
  Engine other_source(c, World::config(), w.clock), other_destination(d, World::config(), w.clock);
  const std::string key = image_archive_key(facts);
  bool raced = false;
  w.spool.on_create = [&](const std::string& name) {
    if (name != key || raced) return;
    raced = true;  // the other node gets there between our check and our write
    auto theirs = ship_image(other_source, other_destination, w.spool, facts, OperationContext{});
    REQUIRE(theirs.ok());
  };
  auto ours = ship_image(w.source, w.destination, w.spool, facts, OperationContext{});
  REQUIRE_MESSAGE(ours.ok(), (ours.ok() ? "" : ours.error().describe()));
  CHECK(raced);
  CHECK(w.spool.writes[key] == 1);
  CHECK(w.b.images.at(facts.image_name) == facts.image_id);
  CHECK(d.images.at(facts.image_name) == facts.image_id);
}

TEST_CASE("an image archive that names other images is refused, and what its load changed is put back") {
  World w;
  const auto facts = w.a.add_running("web", "ws-1");
  w.b.images["localhost/victim:latest"] = "img-v";
  // The shared object says more than the image, as anyone who can write to
  // the store could make it say.
  w.spool.objects[image_archive_key(facts)] =
      FakePodman::image_archive(facts.image_id, {facts.image_name, "localhost/victim:latest"});
  auto r = ship_image(w.source, w.destination, w.spool, facts, OperationContext{});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kIntegrity);
  CHECK(r.error().message().find("localhost/victim:latest") != std::string::npos);
  CHECK(w.b.images.at("localhost/victim:latest") == "img-v");
  CHECK(w.b.images.count(facts.image_name) == 0);  // what the load added is gone
}

TEST_CASE("a shared image object that fails verification is not used: the image goes through a private copy") {
  World w;
  const auto facts = w.a.add_running("web", "ws-1");
  w.spool.objects[image_archive_key(facts)] = FakePodman::image_archive(facts.image_id, {facts.image_name});
  w.spool.corrupt.insert(image_archive_key(facts));
  auto r = w.migrate_ws("web");
  REQUIRE(r.ok());
  INFO((r->failure ? r->failure->describe() : ""));
  CHECK(r->outcome == MigrationOutcome::kMigrated);
  CHECK(r->image_shipped);
  CHECK(w.b.images.at(facts.image_name) == facts.image_id);
  CHECK(w.spool.writes[image_archive_key(facts)] == 0);  // the shared object was not rewritten
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
  auto sink = spool.create("x", OperationContext{});
  REQUIRE(w.a.checkpoint("web", {}, **sink, OperationContext{}).ok());
  REQUIRE((*sink)->close().ok());
  auto archive = spool.open("x", OperationContext{});
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
