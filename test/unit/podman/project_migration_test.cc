// A compose project's migration against fake nodes: what is refused before
// the first freeze, and what the outcome says when undoing fails.
#include "podman/project_migration.h"

#include <doctest/doctest.h>

#include "podman/two_nodes.h"

namespace wscp::podman {
namespace {

using testing::FakePodman;
using World = testing::TwoNodes;

const std::vector<std::string> kServices{"dev", "db", "cache"};

void add_project(FakePodman& node, const std::string& project) {
  for (const auto& service : kServices) {
    auto& c = node.add_running(project + "-" + service, project);
    if (service != "dev") c.labels.erase("dev.containers.id");
    c.labels[kComposeProjectLabel] = project;
    c.labels[kComposeServiceLabel] = service;
  }
}

Result<ProjectMigrationResult> migrate_p(World& w, CheckpointOptions options = {}) {
  return migrate_project(w.source, w.destination, w.spool, "p", options, OperationContext{});
}

TEST_CASE("a project moves as one") {
  World w;
  add_project(w.a, "p");
  auto r = migrate_p(w);
  REQUIRE(r.ok());
  CHECK(r->outcome == MigrationOutcome::kMigrated);
  CHECK(r->restored.primary.container.name == "p-dev");
  for (const auto& s : kServices) {
    CHECK(w.b.containers.at("p-" + s).running());
    CHECK(w.a.containers.count("p-" + s) == 0);
  }
}

TEST_CASE("every service is pre-flighted on the destination before the first freeze") {
  World w;
  add_project(w.a, "p");
  w.b.add_running("p-cache", "someone-else");  // the destination would refuse the last service
  auto r = migrate_p(w);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kConflict);
  CHECK(r.error().message().find("p-cache") != std::string::npos);
  for (const auto& s : kServices) CHECK(w.a.containers.at("p-" + s).running());
  CHECK(w.a.in_place_restores == 0);  // nothing was frozen
  CHECK(w.spool.objects.empty());
  CHECK(w.b.containers.at("p-cache").labels.at("dev.containers.id") == "someone-else");
}

TEST_CASE("leaveRunning is refused for a project migration") {
  World w;
  add_project(w.a, "p");
  CheckpointOptions options;
  options.leave_running = true;
  auto r = migrate_p(w, options);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kInvalidArgument);
  CHECK(w.spool.objects.empty());
}

TEST_CASE("a rollback that cannot remove a restored service says so, and no service runs twice") {
  World w;
  add_project(w.a, "p");
  // Services go in the order the node lists them (here by name: cache, db,
  // dev): cache and db are restored, dev fails, and neither can be removed.
  w.b.fail_restore = Error(ErrorCode::kRestoreFailed, "criu said no");
  w.b.fail_restore_at = 3;
  w.b.fail_remove = Error(ErrorCode::kUnavailable, "podman.sock: connection refused");
  auto r = migrate_p(w);
  REQUIRE(r.ok());
  REQUIRE(r->failure.has_value());
  INFO(r->failure->describe());
  CHECK(r->outcome == MigrationOutcome::kStopped);
  for (const auto& s : kServices) CHECK(w.running_copies("p-" + s) == 1);
  CHECK(r->on_destination_only == std::vector<std::string>{"p-cache", "p-db"});
  CHECK(r->not_running.empty());
  CHECK(r->failure->message().find("on the destination only") != std::string::npos);
  CHECK(r->failure->message().find("p-cache, p-db") != std::string::npos);
  CHECK(w.a.containers.at("p-dev").running());
}

TEST_CASE("services that cannot be resumed anywhere are named as running nowhere") {
  World w;
  add_project(w.a, "p");
  w.b.fail_restore = Error(ErrorCode::kRestoreFailed, "criu said no");
  w.a.fail_in_place = Error(ErrorCode::kRestoreFailed, "kept checkpoint gone");
  auto r = migrate_p(w);
  REQUIRE(r.ok());
  CHECK(r->outcome == MigrationOutcome::kStopped);
  REQUIRE(r->failure.has_value());
  for (const auto& s : kServices) {
    CHECK(r->failure->message().find(s) != std::string::npos);
    CHECK(w.running_copies("p-" + s) == 0);
  }
}

}  // namespace
}  // namespace wscp::podman
