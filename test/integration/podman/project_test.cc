// Multi-service compose projects between the sandbox nodes, through the
// phases: one plan, one checkpoint, one claim for every service.
#include <doctest/doctest.h>

#include "podman/project.h"
#include "sandbox_node.h"

namespace wscp::testing {
namespace {

using namespace std::chrono_literals;

const std::vector<std::string> kServices{"dev", "db", "cache"};

// A project of three services; the devcontainer one carries the workspace label.
std::string start_project(SandboxNode& node, const nlohmann::json& extra_for_cache = nlohmann::json::object()) {
  const std::string project = unique_name("proj");
  for (const std::string& service : kServices) {
    nlohmann::json labels{{"com.docker.compose.project", project}, {"com.docker.compose.service", service}};
    if (service == "dev") labels["dev.containers.id"] = project;
    nlohmann::json extra{{"labels", labels}};
    if (service == "cache") extra.update(extra_for_cache);
    node.run(project + "-" + service, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"}, extra);
  }
  return project;
}

migration::PlanRequest project_request(const std::string& project) {
  migration::PlanRequest request;
  request.project = project;
  return request;
}

TEST_CASE("a three-service project moves as one and its primary service is identified") {
  SandboxNode a("node-1"), b("node-2");
  StoreFixture store;
  NodePhases from(a, store), to(b, store);
  const std::string project = start_project(a);
  REQUIRE(eventually(30s, [&] { return a.count(project + "-db") >= 10; }));
  const long long before = a.count(project + "-db");

  auto r = migrate(from, to, project_request(project));
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().describe()));
  INFO((r->failure ? r->failure->describe() : ""));
  REQUIRE(r->outcome == migration::Outcome::kMigrated);
  CHECK(r->plan.containers.size() == 3);
  CHECK(r->plan.workspace_id == project);
  CHECK(r->plan.primary == project + "-dev");
  for (const auto& c : r->plan.containers) {
    if (c.name == r->plan.primary) CHECK(podman::service_of(c) == "dev");
  }
  REQUIRE(r->restored.has_value());
  CHECK(r->restored->primary == project + "-dev");
  CHECK(r->running.size() == 3);
  for (const auto& w : r->running) CHECK(w.container.labels.at("com.docker.compose.project") == project);
  for (const std::string& service : kServices) {
    CHECK_FALSE(*a.client().container_exists(project + "-" + service));
    CHECK(b.client().inspect_container(project + "-" + service)->running());
  }
  CHECK(b.count(project + "-db") >= before);
  // The sealed checkpoint in the store is what a later restore reads.
  auto manifest = store.checkpoints->read_manifest(project, r->plan.checkpoint_id, OperationContext{});
  REQUIRE_MESSAGE(manifest.ok(), (manifest.ok() ? "" : manifest.error().describe()));
  CHECK(manifest->containers.size() == 3);
  CHECK(journal_empty(from));
  CHECK(journal_empty(to));
  for (const std::string& service : kServices) b.remove(project + "-" + service);
}

TEST_CASE("a project one of whose services cannot be restored leaves nothing on the destination") {
  SandboxNode a("node-1"), b("node-2");
  StoreFixture store;
  const std::string bind_dir = "/tmp/" + unique_name("only-on-node-1");
  std::filesystem::create_directories(a.root() / bind_dir.substr(1));
  const std::string project = start_project(
      a, {{"mounts", {{{"type", "bind"}, {"source", bind_dir}, {"destination", "/data"}}}}});
  REQUIRE(eventually(30s, [&] { return a.count(project + "-dev") >= 10; }));

  // The destination is told to look at node-1's files, so its pre-flight
  // passes and the cache service's restore fails in CRIU on node-2.
  podman::EngineConfig misled = b.engine_config();
  misled.host_root = a.root();
  podman::Engine destination(b.client(), misled);
  NodePhases from(a, store), to(b.name(), destination, store);
  auto r = migrate(from, to, project_request(project));
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().describe()));
  INFO((r->failure ? r->failure->describe() : ""));
  CHECK(r->outcome == migration::Outcome::kKeptOnSource);
  REQUIRE(r->failure.has_value());
  CHECK(r->failure->code() == ErrorCode::kRestoreFailed);
  CHECK(r->failure->message().find(project + "-cache") != std::string::npos);
  CHECK(r->on_destination_only.empty());
  CHECK(r->not_running.empty());
  for (const std::string& service : kServices) {
    CHECK_FALSE(*b.client().container_exists(project + "-" + service));
    CHECK(a.client().inspect_container(project + "-" + service)->running());
  }
  const long long resumed = a.count(project + "-dev");
  CHECK(eventually(30s, [&] { return a.count(project + "-dev") > resumed + 5; }));
  CHECK(journal_empty(from));
  CHECK(journal_empty(to));
  for (const std::string& service : kServices) a.remove(project + "-" + service);
  std::filesystem::remove_all(a.root() / bind_dir.substr(1));
}

TEST_CASE("a project one of whose services the destination would refuse is refused before any freeze") {
  SandboxNode a("node-1"), b("node-2");
  StoreFixture store;
  NodePhases from(a, store), to(b, store);
  const std::string project = start_project(a);
  // node-2 already has a container by the name of the cache service.
  b.run(project + "-cache", {"sleep", "1000"}, {{"labels", {{"owner", "someone-else"}}}});
  REQUIRE(eventually(30s, [&] { return a.count(project + "-dev") >= 5; }));

  auto r = migrate(from, to, project_request(project));
  REQUIRE_FALSE(r.ok());
  INFO(r.error().describe());
  CHECK(r.error().code() == ErrorCode::kConflict);
  CHECK(r.error().message().find(project + "-cache") != std::string::npos);
  // Nothing was dumped: the store holds the plan alone, unsealed.
  auto listed = store.checkpoints->list_checkpoints(project);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK_FALSE(listed->front().complete);
  for (const auto& o : store.checkpoint_objects(project, listed->front().checkpoint_id)) {
    CHECK_MESSAGE(o.key.ends_with("/plan.json"), o.key);
  }
  for (const std::string& service : kServices) CHECK(a.client().inspect_container(project + "-" + service)->running());
  CHECK(b.client().inspect_container(project + "-cache")->labels.at("owner") == "someone-else");
  CHECK(journal_empty(from));
  for (const std::string& service : kServices) a.remove(project + "-" + service);
  b.remove(project + "-cache");
}

TEST_CASE("a project with two containers for one service is refused before anything is planned") {
  SandboxNode a("node-1"), b("node-2");
  StoreFixture store;
  NodePhases from(a, store), to(b, store);
  const std::string project = unique_name("dup");
  for (const std::string name : {"x1", "x2"}) {
    a.run(project + name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"},
          {{"labels", {{"com.docker.compose.project", project}, {"com.docker.compose.service", "web"},
                       {"dev.containers.id", project}}}});
  }
  auto r = migrate(from, to, project_request(project));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kInvalidArgument);
  CHECK(r.error().message().find("'web'") != std::string::npos);
  CHECK(store.checkpoints->list_checkpoints(project)->empty());
  CHECK(a.client().inspect_container(project + "x1")->running());
  CHECK(a.client().inspect_container(project + "x2")->running());
  a.remove(project + "x1");
  a.remove(project + "x2");
}

}  // namespace
}  // namespace wscp::testing
