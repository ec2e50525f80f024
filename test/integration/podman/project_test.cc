// Multi-service compose projects between the sandbox nodes.
#include <doctest/doctest.h>

#include "podman/project_migration.h"
#include "sandbox_node.h"

namespace wscp::testing {
namespace {

using namespace std::chrono_literals;

// A project of three services; the devcontainer one carries the workspace label.
std::string start_project(SandboxNode& node, const nlohmann::json& extra_for_cache = nlohmann::json::object()) {
  const std::string project = unique_name("proj");
  for (const std::string service : {"dev", "db", "cache"}) {
    nlohmann::json labels{{"com.docker.compose.project", project}, {"com.docker.compose.service", service}};
    if (service == "dev") labels["dev.containers.id"] = project;
    nlohmann::json extra{{"labels", labels}};
    if (service == "cache") extra.update(extra_for_cache);
    node.run(project + "-" + service, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"}, extra);
  }
  return project;
}

TEST_CASE("a three-service project moves as one and its primary service is identified") {
  SandboxNode a("node-1"), b("node-2");
  StoreFixture store;
  auto& spool = store.spool();
  const std::string project = start_project(a);
  REQUIRE(eventually(30s, [&] { return a.count(project + "-db") >= 10; }));
  const long long before = a.count(project + "-db");

  auto r = podman::migrate_project(a.engine(), b.engine(), spool, project, {}, OperationContext{});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().describe()));
  INFO((r->failure ? r->failure->describe() : ""));
  REQUIRE(r->outcome == podman::MigrationOutcome::kMigrated);
  CHECK(r->checkpoint.services.size() == 3);
  CHECK(r->checkpoint.primary_service == "dev");
  CHECK(r->restored.primary.id == project);
  CHECK(r->restored.primary.container.name == project + "-dev");
  CHECK(*spool.exists(podman::project_manifest_key(project)));
  for (const std::string service : {"dev", "db", "cache"}) {
    CHECK_FALSE(*a.client().container_exists(project + "-" + service));
    CHECK(b.client().inspect_container(project + "-" + service)->running());
  }
  CHECK(b.count(project + "-db") >= before);
  // The manifest on disk is what a later restore reads.
  auto loaded = podman::load_project_checkpoint(spool, project, OperationContext{});
  REQUIRE(loaded.ok());
  CHECK(loaded->services.size() == 3);
  for (const std::string service : {"dev", "db", "cache"}) b.remove(project + "-" + service);
}

TEST_CASE("a project whose last service cannot be restored leaves nothing on the destination") {
  SandboxNode a("node-1"), b("node-2");
  StoreFixture store;
  auto& spool = store.spool();
  const std::string bind_dir = "/tmp/" + unique_name("only-on-node-1");
  std::filesystem::create_directories(a.root() / bind_dir.substr(1));
  const std::string project = start_project(
      a, {{"mounts", {{{"type", "bind"}, {"source", bind_dir}, {"destination", "/data"}}}}});
  REQUIRE(eventually(30s, [&] { return a.count(project + "-dev") >= 10; }));

  // The destination is told to look at node-1's files, so its pre-flight
  // passes and the last service's restore fails in CRIU on node-2.
  podman::EngineConfig misled = b.engine_config();
  misled.host_root = a.root();
  podman::Engine destination(b.client(), misled);
  auto r = podman::migrate_project(a.engine(), destination, spool, project, {}, OperationContext{});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().describe()));
  INFO((r->failure ? r->failure->describe() : ""));
  CHECK(r->outcome == podman::MigrationOutcome::kKeptOnSource);
  REQUIRE(r->failure.has_value());
  CHECK(r->failure->code() == ErrorCode::kRestoreFailed);
  CHECK(r->failure->message().find("service cache") != std::string::npos);
  CHECK(r->on_destination_only.empty());
  CHECK(r->not_running.empty());
  for (const std::string service : {"dev", "db", "cache"}) {
    CHECK_FALSE(*b.client().container_exists(project + "-" + service));
    CHECK(a.client().inspect_container(project + "-" + service)->running());
  }
  const long long resumed = a.count(project + "-dev");
  CHECK(eventually(30s, [&] { return a.count(project + "-dev") > resumed + 5; }));
  for (const std::string service : {"dev", "db", "cache"}) a.remove(project + "-" + service);
  std::filesystem::remove_all(a.root() / bind_dir.substr(1));
}

TEST_CASE("a project one of whose services the destination would refuse is refused before any freeze") {
  SandboxNode a("node-1"), b("node-2");
  StoreFixture store;
  auto& spool = store.spool();
  const std::string project = start_project(a);
  // node-2 already has a container by the name of the last service.
  b.run(project + "-cache", {"sleep", "1000"}, {{"labels", {{"owner", "someone-else"}}}});
  REQUIRE(eventually(30s, [&] { return a.count(project + "-dev") >= 5; }));

  auto r = podman::migrate_project(a.engine(), b.engine(), spool, project, {}, OperationContext{});
  REQUIRE_FALSE(r.ok());
  INFO(r.error().describe());
  CHECK(r.error().code() == ErrorCode::kConflict);
  CHECK(r.error().message().find(project + "-cache") != std::string::npos);
  // Nothing was dumped: no archive of any service, no manifest.
  CHECK_FALSE(*spool.exists(podman::project_manifest_key(project)));
  for (const std::string service : {"dev", "db", "cache"}) {
    CHECK_FALSE(*spool.exists("projects/" + project + "/" + service + ".tar"));
    CHECK(a.client().inspect_container(project + "-" + service)->running());
  }
  CHECK(b.client().inspect_container(project + "-cache")->labels.at("owner") == "someone-else");
  for (const std::string service : {"dev", "db", "cache"}) a.remove(project + "-" + service);
  b.remove(project + "-cache");
}

TEST_CASE("a project with two containers for one service is refused before any dump") {
  SandboxNode a("node-1");
  StoreFixture store;
  auto& spool = store.spool();
  const std::string project = unique_name("dup");
  for (const std::string name : {"x1", "x2"}) {
    a.run(project + name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"},
          {{"labels", {{"com.docker.compose.project", project}, {"com.docker.compose.service", "web"},
                       {"dev.containers.id", project}}}});
  }
  auto r = podman::checkpoint_project(a.engine(), spool, project, {}, OperationContext{});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kInvalidArgument);
  CHECK(r.error().message().find("'web'") != std::string::npos);
  CHECK(a.client().inspect_container(project + "x1")->running());
  CHECK(a.client().inspect_container(project + "x2")->running());
  a.remove(project + "x1");
  a.remove(project + "x2");
}

}  // namespace
}  // namespace wscp::testing
