// migration::migrate_workspace between two fake Podman nodes through a real
// store directory: what moves, what is refused before anything happens, and
// how the workspace comes back (or is reported running nowhere) when a step
// fails.
#include "migration/migrate_flow.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <random>
#include <thread>

#include "migration/plan_phase.h"
#include "migration/recovery.h"
#include "podman/project.h"
#include "two_node_world.h"

namespace wscp::migration {
namespace {

using namespace flow_testing;

TEST_CASE("a migration moves the workspace and ships the image the destination lacks") {
  World w;
  w.add(w.a, "web", "ws-1");
  auto r = w.move("web");
  REQUIRE_REPORT(r);
  INFO((r->failure ? r->failure->describe() : ""));
  CHECK(r->outcome == Outcome::kMigrated);
  CHECK_FALSE(w.a.containers.count("web"));
  REQUIRE(w.b.containers.count("web"));
  CHECK(w.b.containers.at("web").running());
  REQUIRE(r->restored.has_value());
  CHECK(r->restored->images_loaded.size() == 1);
  CHECK(w.b.images.at("localhost/box:latest") == kImageId);
  REQUIRE(r->running.size() == 1);
  CHECK(r->running[0].id == "ws-1");
  CHECK(w.claim(*r) == ClaimState::kRestored);
  CHECK(w.journals_empty());
  CHECK(r->warnings.empty());
}

TEST_CASE("an image already on the destination is not shipped again") {
  World w;
  w.add(w.a, "web", "ws-1");
  w.b.images["localhost/box:latest"] = kImageId;
  auto r = w.move("web");
  REQUIRE_REPORT(r);
  CHECK(r->outcome == Outcome::kMigrated);
  REQUIRE(r->restored.has_value());
  CHECK(r->restored->images_loaded.empty());
}

TEST_CASE("a failed destination restore leaves nothing there and resumes the workspace on the source") {
  World w;
  w.add(w.a, "web", "ws-1");
  w.b.fail_restore = Error(ErrorCode::kRestoreFailed, "criu failed");
  auto r = w.move("web");
  REQUIRE_REPORT(r);
  CHECK(r->outcome == Outcome::kKeptOnSource);
  REQUIRE(r->failure.has_value());
  CHECK(r->failure->code() == ErrorCode::kRestoreFailed);
  CHECK_FALSE(w.b.containers.count("web"));
  CHECK(w.a.containers.at("web").running());
  CHECK(w.a.in_place_restores == 1);
  CHECK(w.running_copies("web") == 1);
  CHECK(w.claim(*r) == ClaimState::kResumed);
  CHECK(r->on_destination_only.empty());
  CHECK(r->not_running.empty());
  CHECK(w.journals_empty());
}

TEST_CASE("when the kept checkpoint cannot be used, the source is restored from the archive") {
  World w;
  w.add(w.a, "web", "ws-1");
  w.b.fail_restore = Error(ErrorCode::kRestoreFailed, "criu failed");
  w.a.fail_in_place = Error(ErrorCode::kRestoreFailed, "kept checkpoint is gone");
  auto r = w.move("web");
  REQUIRE_REPORT(r);
  INFO((r->failure ? r->failure->describe() : ""));
  CHECK(r->outcome == Outcome::kKeptOnSource);
  REQUIRE(w.a.containers.count("web"));
  CHECK(w.a.containers.at("web").running());
  CHECK(w.a.imported_restores == 1);  // from the archive in the store
  CHECK(w.running_copies("web") == 1);
}

TEST_CASE("a checkpoint that fails leaves the workspace running and touches nothing else") {
  World w;
  w.add(w.a, "web", "ws-1");
  w.a.fail_checkpoint = Error(ErrorCode::kCheckpointFailed, "criu dump failed");
  auto r = w.move("web");
  REQUIRE_REPORT(r);
  CHECK(r->outcome == Outcome::kKeptOnSource);
  REQUIRE(r->failure.has_value());
  CHECK(r->failure->code() == ErrorCode::kCheckpointFailed);
  CHECK_FALSE(r->sealed.has_value());
  CHECK(w.a.containers.at("web").running());
  CHECK(w.b.containers.empty());
  CHECK(w.journals_empty());
}

TEST_CASE("when every way back fails the outcome says so, and the stopped copy is never removed") {
  World w;
  w.add(w.a, "web", "ws-1");
  w.b.fail_restore = Error(ErrorCode::kRestoreFailed, "criu failed");
  w.a.fail_in_place = Error(ErrorCode::kRestoreFailed, "kept checkpoint is gone");
  w.a.fail_restore = Error(ErrorCode::kRestoreFailed, "restore from the archive failed");
  w.a.failed_restore_leaves_container = false;
  auto r = w.move("web");
  REQUIRE_REPORT(r);
  CHECK(r->outcome == Outcome::kStopped);
  REQUIRE(r->failure.has_value());
  CHECK(r->not_running == std::vector<std::string>{"web"});
  REQUIRE(w.a.containers.count("web"));  // the checkpointed container is kept
  CHECK_FALSE(w.a.containers.at("web").running());
  CHECK(w.running_copies("web") == 0);
  CHECK_FALSE(w.source.journal->pending()->empty());  // recovery can take it from there
}

TEST_CASE("leaveRunning is refused for a migration: the source's later work would be lost") {
  World w;
  w.add(w.a, "web", "ws-1");
  PlanRequest request;
  request.checkpoint.leave_running = true;
  auto r = w.move("web", request);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kInvalidArgument);
  CHECK(r.error().message().find("eaveRunning") != std::string::npos);
  CHECK(w.a.containers.at("web").running());
  CHECK(w.journals_empty());
}

TEST_CASE("a restored container that stops within the settle time is a failed migration; the source copy is kept") {
  World w;
  w.add(w.a, "web", "ws-1");
  w.b.restored_stops_after_inspections = 1;
  auto r = w.move("web");
  REQUIRE_REPORT(r);
  CHECK(r->outcome == Outcome::kKeptOnSource);
  CHECK(w.a.containers.at("web").running());
  CHECK_FALSE(w.b.containers.count("web"));
  CHECK(w.running_copies("web") == 1);
}

TEST_CASE("a restore the client gave up on is awaited: the source is not resumed while Podman carries on") {
  World w;
  w.add(w.a, "web", "ws-1");
  w.b.restore_times_out_then_appears_after = 3;
  auto r = w.move("web");
  REQUIRE_REPORT(r);
  INFO((r->failure ? r->failure->describe() : ""));
  CHECK(r->outcome == Outcome::kMigrated);
  CHECK(w.running_copies("web") == 1);
  CHECK(w.b.containers.at("web").running());
  CHECK(w.a.in_place_restores == 0);
}

TEST_CASE("what the destination would refuse is found before the workspace is touched") {
  World w;
  w.add(w.a, "web", "ws-1");
  SUBCASE("a destination without CRIU") {
    w.b.runtime_version = "crun version 1.21";
    auto r = w.move("web");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::kUnsupported);
  }
  SUBCASE("the name is taken") {
    w.add(w.b, "web", "someone-else");
    auto r = w.move("web");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::kConflict);
    CHECK(w.b.containers.at("web").labels.at("dev.containers.id") == "someone-else");
  }
  SUBCASE("the image name resolves to another image") {
    w.b.images["localhost/box:latest"] = std::string(64, 'c');
    auto r = w.move("web");
    REQUIRE_FALSE(r.ok());
  }
  CHECK(w.a.containers.at("web").running());
  CHECK(w.a.image_exports == 0);  // nothing was shipped either
  CHECK(w.journals_empty());
  // The lock is free again: a second attempt is not refused for it.
  w.b = FakePodman();
  auto again = w.move("web");
  REQUIRE_REPORT(again);
  CHECK(again->outcome == Outcome::kMigrated);
}

TEST_CASE("a container without the workspace label is not a workspace and is left alone") {
  World w;
  w.add(w.a, "web", "ws-1").labels.clear();
  auto r = w.move("web");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kInvalidArgument);
  CHECK(w.a.containers.at("web").running());
}

// A project of three services; "dev" carries the workspace label.
void add_project(World& w, const std::string& project) {
  for (const std::string service : {"dev", "db", "cache"}) {
    auto& c = w.add(w.a, project + "-" + service, project);
    if (service != "dev") c.labels.erase("dev.containers.id");
    c.labels[podman::kComposeProjectLabel] = project;
    c.labels[podman::kComposeServiceLabel] = service;
  }
}

TEST_CASE("a project moves as one") {
  World w;
  add_project(w, "proj");
  auto r = w.move_project("proj");
  REQUIRE_REPORT(r);
  INFO((r->failure ? r->failure->describe() : ""));
  CHECK(r->outcome == Outcome::kMigrated);
  CHECK(r->plan.primary == "proj-dev");
  CHECK(r->running.size() == 3);
  CHECK(w.a.containers.empty());
  for (const std::string service : {"dev", "db", "cache"}) CHECK(w.b.containers.at("proj-" + service).running());
  CHECK(w.journals_empty());
}

TEST_CASE("a project whose second service fails to restore leaves nothing on the destination") {
  World w;
  add_project(w, "proj");
  w.b.fail_restore = Error(ErrorCode::kRestoreFailed, "criu failed");
  w.b.fail_restore_at = 2;
  auto r = w.move_project("proj");
  REQUIRE_REPORT(r);
  CHECK(r->outcome == Outcome::kKeptOnSource);
  CHECK(w.b.containers.empty());
  for (const std::string service : {"dev", "db", "cache"}) CHECK(w.a.containers.at("proj-" + service).running());
  CHECK(r->on_destination_only.empty());
  CHECK(r->not_running.empty());
}

TEST_CASE("a project whose restored service cannot be removed is not resumed twice") {
  World w;
  add_project(w, "proj");
  w.b.fail_restore = Error(ErrorCode::kRestoreFailed, "criu failed");
  w.b.fail_restore_at = 2;
  w.b.fail_remove = Error(ErrorCode::kUnavailable, "podman is not answering");
  auto r = w.move_project("proj");
  REQUIRE_REPORT(r);
  CHECK(r->outcome == Outcome::kStopped);
  // What the destination could not remove runs there only; the source did
  // not resume beside it.
  CHECK_FALSE(r->on_destination_only.empty());
  for (const auto& name : r->on_destination_only) CHECK(w.running_copies(name) == 1);
}

TEST_CASE("a project with two containers for one service is refused before anything is planned") {
  World w;
  add_project(w, "proj");
  auto& extra = w.add(w.a, "proj-db2", "proj");
  extra.labels.erase("dev.containers.id");
  extra.labels[podman::kComposeProjectLabel] = "proj";
  extra.labels[podman::kComposeServiceLabel] = "db";
  auto r = w.move_project("proj");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kInvalidArgument);
  CHECK(r.error().message().find("'db'") != std::string::npos);
  auto listed = w.checkpoints.list_checkpoints("proj");
  REQUIRE(listed.ok());
  CHECK(listed->empty());
  CHECK(w.journals_empty());
}

TEST_CASE("cut through: the destination takes the claim and restores while the source is still dumping") {
  World w;
  w.add(w.a, "web", "ws-1");
  PlanRequest request;
  request.checkpoint_id = "c-1";
  // The dump waits until the destination holds the restore claim: the
  // restore began before anything was sealed.
  bool claimed_before_dump = false;
  w.a.on_checkpoint = [&]() -> Status {
    claimed_before_dump = w.await_claim("ws-1", "c-1", ClaimState::kRestoring);
    return Ok{};
  };
  auto r = w.move_with("web", request, World::quick());
  REQUIRE_REPORT(r);
  INFO((r->failure ? r->failure->describe() : ""));
  CHECK(claimed_before_dump);
  CHECK(r->outcome == Outcome::kMigrated);
  CHECK(r->cut_through);
  REQUIRE(r->sealed.has_value());
  CHECK(w.b.containers.at("web").running());
  CHECK_FALSE(w.a.containers.count("web"));
  CHECK(w.claim(*r) == ClaimState::kRestored);
  CHECK(w.journals_empty());
  CHECK(r->warnings.empty());
}

TEST_CASE("sequential: the destination starts only once the checkpoint is sealed") {
  World w;
  w.add(w.a, "web", "ws-1");
  MigrateOptions options;
  options.cut_through = false;
  auto r = w.move_with("web", PlanRequest{}, options);
  REQUIRE_REPORT(r);
  CHECK(r->outcome == Outcome::kMigrated);
  CHECK_FALSE(r->cut_through);
  CHECK(w.b.containers.at("web").running());
  CHECK(w.journals_empty());
}

TEST_CASE("cut through: a dump failing while the destination holds the claim resumes the workspace on the source") {
  World w;
  w.add(w.a, "web", "ws-1");
  PlanRequest request;
  request.checkpoint_id = "c-1";
  w.a.on_checkpoint = [&]() -> Status {
    CHECK(w.await_claim("ws-1", "c-1", ClaimState::kRestoring));
    return Error(ErrorCode::kCheckpointFailed, "criu dump failed");
  };
  auto r = w.move_with("web", request, World::quick());
  REQUIRE_REPORT(r);
  INFO((r->failure ? r->failure->describe() : ""));
  CHECK(r->outcome == Outcome::kKeptOnSource);
  REQUIRE(r->failure.has_value());
  CHECK(r->failure->code() == ErrorCode::kCheckpointFailed);
  CHECK(w.a.containers.at("web").running());
  CHECK(w.b.containers.empty());
  CHECK(w.b.imported_restores == 0);  // Podman never got an archive
  CHECK(w.claim(*r) == ClaimState::kResumed);
  CHECK(w.running_copies("web") == 1);
  CHECK(w.journals_empty());
}

TEST_CASE("cut through: a destination failing while the source dumps: the dump stops and the workspace resumes") {
  World w;
  w.add(w.a, "web", "ws-1");
  PlanRequest request;
  request.checkpoint_id = "c-1";
  w.b.fail_load_image = Error(ErrorCode::kRestoreFailed, "no space left for the image");
  // The dump goes on only after the destination gave its claim up.
  w.a.on_checkpoint = [&]() -> Status {
    CHECK(w.await_claim("ws-1", "c-1", ClaimState::kAbandoned));
    return Ok{};
  };
  auto r = w.move_with("web", request, World::quick());
  REQUIRE_REPORT(r);
  INFO((r->failure ? r->failure->describe() : ""));
  CHECK(r->outcome == Outcome::kKeptOnSource);
  REQUIRE(r->failure.has_value());
  CHECK(r->failure->code() == ErrorCode::kRestoreFailed);
  // The checkpoint ended without a seal: cancelled, or refused by the claim.
  REQUIRE_FALSE(r->warnings.empty());
  CHECK(r->warnings.front().find("the checkpoint stopped") != std::string::npos);
  CHECK_FALSE(r->sealed.has_value());
  CHECK(w.a.containers.at("web").running());
  CHECK(w.b.containers.empty());
  CHECK(w.claim(*r) == ClaimState::kResumed);
  CHECK(w.journals_empty());
}

TEST_CASE("cut through: a source that stops writing makes the destination give up after the follow timeout") {
  World w;
  w.add(w.a, "web", "ws-1");
  PlanRequest request;
  request.checkpoint_id = "c-1";
  MigrateOptions options;
  options.follow.follow.poll_interval = std::chrono::milliseconds(20);
  options.follow.follow.timeout = std::chrono::milliseconds(300);
  // The source is stuck before its dump until the destination gave up.
  w.a.on_checkpoint = [&]() -> Status {
    CHECK(w.await_claim("ws-1", "c-1", ClaimState::kAbandoned));
    return Error(ErrorCode::kCheckpointFailed, "criu dump failed");
  };
  auto r = w.move_with("web", request, options);
  REQUIRE_REPORT(r);
  INFO((r->failure ? r->failure->describe() : ""));
  CHECK(r->outcome == Outcome::kKeptOnSource);
  CHECK(w.a.containers.at("web").running());
  CHECK(w.b.containers.empty());
  REQUIRE_FALSE(r->warnings.empty());
  CHECK(r->warnings.front().find("did not appear within") != std::string::npos);
  CHECK(w.claim(*r) == ClaimState::kResumed);
  CHECK(w.journals_empty());
}

TEST_CASE("cut through: a project's services are restored as they are written, then sealed as one") {
  World w;
  add_project(w, "proj");
  PlanRequest request;
  request.project = "proj";
  request.checkpoint_id = "c-1";
  // The first dump waits until the destination holds the claim.
  bool claimed_before_dump = false;
  w.a.on_checkpoint = [&]() -> Status {
    if (!claimed_before_dump) claimed_before_dump = w.await_claim("proj", "c-1", ClaimState::kRestoring);
    return Ok{};
  };
  auto r = migrate_workspace(w.source.services, w.destination.services, request, OperationContext{}, World::quick());
  REQUIRE_REPORT(r);
  INFO((r->failure ? r->failure->describe() : ""));
  CHECK(claimed_before_dump);
  CHECK(r->cut_through);
  CHECK(r->outcome == Outcome::kMigrated);
  for (const std::string service : {"dev", "db", "cache"}) CHECK(w.b.containers.at("proj-" + service).running());
  CHECK(w.a.containers.empty());
  CHECK(w.journals_empty());
}

TEST_CASE("a restorer that died after the archive's end reached Podman: recovery waits for Podman's outcome") {
  for (const bool comes_up : {true, false}) {
    CAPTURE(comes_up);
    World w;
    w.add(w.a, "web", "ws-1");
    PlanRequest request;
    request.workspace = "web";
    request.checkpoint_id = "c-1";
    auto plan = make_plan(w.source.services, request);
    REQUIRE(plan.ok());
    auto sealed = checkpoint_workspace(w.source.services, *plan, OperationContext{});
    REQUIRE(sealed.ok());
    w.b.images["localhost/box:latest"] = kImageId;
    // The restorer took the claim, sent the whole archive and died: Podman
    // goes on importing and creates the container a little later (or fails).
    auto claim = ClaimLog(w.documents, {}, "ws-1", "c-1").take(ClaimStep::kBeginRestore, "node-b");
    REQUIRE(claim.ok());
    JournalEntry dead{"c-1", "ws-1", Phase::kRestore, Step::kSettling, "node-b", "", {"web"}, {}, {}, ""};
    REQUIRE(w.destination.journal->record(dead).ok());
    OperationContext ctx;  // outlives the stream, which refers to it
    auto archive = w.checkpoints.open_archive(sealed->manifest.containers[0].archive, ctx);
    REQUIRE(archive.ok());
    w.b.restore_times_out_then_appears_after = 4;  // inspections before it appears
    w.b.late_restore_fails = !comes_up;
    (void)w.b.restore(**archive, {}, ctx, std::chrono::milliseconds(1));
    w.b.restore_times_out_then_appears_after.reset();

    auto recovered = recover_pending(w.destination.services, OperationContext{});
    REQUIRE(recovered.ok());
    REQUIRE(recovered->size() == 1);
    INFO(recovered->front().outcome);
    if (comes_up) {
      CHECK(recovered->front().action == RecoveryAction::kRestoreKept);
      CHECK(w.b.containers.at("web").running());
      CHECK(ClaimLog(w.documents, {}, "ws-1", "c-1").current()->state == ClaimState::kRestored);
    } else {
      CHECK(recovered->front().action == RecoveryAction::kRestoreUndone);
      CHECK_FALSE(w.b.containers.count("web"));  // the created one was removed
      CHECK(ClaimLog(w.documents, {}, "ws-1", "c-1").current()->state == ClaimState::kAbandoned);
    }
  }
}

}  // namespace
}  // namespace wscp::migration
