#include "agent/api/operation_routes.h"

#include <doctest/doctest.h>

#include <functional>
#include <thread>

#include "agent/api/workspace_routes.h"
#include "inventory/stub_podman.h"
#include "operations/fake_phase_runner.h"
#include "testing/temp_dir.h"

using namespace wscp;
using namespace wscp::agent;
using namespace wscp::agent::api;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

Response call(const Router& router, const std::string& method, const std::string& path, const std::string& body = "") {
  auto m = router.match(method, path);
  if (std::holds_alternative<Response>(m)) return std::get<Response>(m);
  auto& match = std::get<Router::Match>(m);
  Request r;
  r.method = method;
  r.path = path;
  r.params = match.params;
  r.route = match.route;
  r.body = body;
  if (!body.empty()) r.headers.push_back({"Content-Type", "application/json"});
  return (*match.handler)(r);
}

json parsed(const Response& r) { return json::parse(r.body); }

struct Fixture {
  testing::TempDir dir;
  testing::FakePhaseRunner runner;
  std::unique_ptr<operations::OperationManager> manager;
  Router router;
  Fixture() {
    auto store = operations::DirectoryOperationStore::open(dir.path());
    REQUIRE(store.ok());
    manager = std::make_unique<operations::OperationManager>(std::move(*store), runner, operations::ManagerOptions{},
                                                             nullptr, nullptr, nullptr);
    REQUIRE(manager->open().ok());
    add_operation_routes(router, *manager);
  }
};

}  // namespace

TEST_CASE("api routes: POST /v1/operations starts once per id; GET and DELETE find it") {
  Fixture f;
  const std::string body = R"({"id":"op-1","kind":"checkpoint","workspace":"ws","checkpointId":"c1"})";
  auto first = call(f.router, "POST", "/v1/operations", body);
  CHECK(first.status == 202);
  CHECK(parsed(first)["id"] == "op-1");
  auto second = call(f.router, "POST", "/v1/operations", body);
  CHECK(second.status == 200);
  auto other = call(f.router, "POST", "/v1/operations",
                    R"({"id":"op-1","kind":"checkpoint","workspace":"ws","checkpointId":"c2"})");
  CHECK(other.status == 409);
  CHECK(parsed(other)["error"]["message"].get<std::string>().find("another request") != std::string::npos);
  auto got = call(f.router, "GET", "/v1/operations/op-1");
  CHECK(got.status == 200);
  CHECK(parsed(got)["request"]["checkpointId"] == "c1");
  CHECK(call(f.router, "GET", "/v1/operations/op-x").status == 404);
  CHECK(call(f.router, "DELETE", "/v1/operations/op-x").status == 404);
  for (int i = 0; i < 500 && f.manager->active() > 0; ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(f.manager->active() == 0);
  CHECK(call(f.router, "DELETE", "/v1/operations/op-1").status == 200);  // finished: answered as it is
  CHECK(f.runner.runs == 1);
  CHECK(parsed(call(f.router, "GET", "/v1/operations"))["operations"].size() == 1);
}

TEST_CASE("api routes: bad operation bodies are 400 with a reason, and nothing starts") {
  Fixture f;
  struct Case {
    std::string body;
    std::string reason;
  };
  const Case cases[] = {
      {"{not json", "JSON"},
      {"[1]", "object"},
      {R"({"kind":"checkpoint","workspace":"ws","checkpointId":"c"})", "id"},
      {R"({"id":"a/b","kind":"checkpoint","workspace":"ws","checkpointId":"c"})", "operation id"},
      {R"({"id":"x","kind":"checkpoint","workspace":"ws","checkpointId":"c","force":true})", "force is not a known field"},
      {R"({"id":"x","kind":"teleport","workspace":"ws","checkpointId":"c"})", "teleport"},
      {R"({"id":"x","kind":"restore","checkpointId":"c"})", "workspace"},
  };
  for (const auto& c : cases) {
    auto r = call(f.router, "POST", "/v1/operations", c.body);
    CAPTURE(c.body);
    CHECK(r.status == 400);
    CHECK(parsed(r)["error"]["message"].get<std::string>().find(c.reason) != std::string::npos);
  }
  CHECK(f.runner.runs == 0);
  CHECK(f.manager->list().empty());
}

TEST_CASE("api routes: preflight takes a plan or a reference and reports a refusal") {
  testing::FakePhaseRunner runner;
  testing::StubPodman podman;
  podman.reachable = false;
  testing::StubProbe probe;
  agent::inventory::Inventory inventory(podman, probe, {});
  Router router;
  add_workspace_routes(router, inventory, runner);
  CHECK(call(router, "POST", "/v1/preflight", R"({"workspaceId":"ws","checkpointId":"c"})").status == 200);
  CHECK(call(router, "POST", "/v1/preflight", R"({"plan":{"a":1}})").status == 200);
  auto refused = call(router, "POST", "/v1/preflight", R"({"workspaceId":"ws","checkpointId":"refused"})");
  CHECK(refused.status == 422);
  CHECK(parsed(refused)["error"]["message"] == "no CRIU here");
  CHECK(call(router, "POST", "/v1/preflight", R"({"workspaceId":"ws"})").status == 400);
  CHECK(call(router, "POST", "/v1/preflight", R"({"plan":{},"workspaceId":"ws","checkpointId":"c"})").status == 400);
  CHECK(call(router, "POST", "/v1/preflight", R"({"plan":{},"color":"red"})").status == 400);
  auto ws = call(router, "GET", "/v1/workspaces");
  CHECK(ws.status == 503);
  CHECK(parsed(ws)["error"]["message"].get<std::string>().find("Podman") != std::string::npos);
}
