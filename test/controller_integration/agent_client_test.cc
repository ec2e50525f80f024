// The controller's agent client (src/controller/agent_client) against the
// agent's real HTTPS API server: the agent's self-signed serving identity,
// found through a registration Lease in the directory and trusted by its
// published public key pin; the controller's client certificate made by
// make_pki.sh. The phases are a fake runner (they need Podman).
#include <doctest/doctest.h>

#include <atomic>

#include "agent/api/api_server.h"
#include "agent/api/operation_routes.h"
#include "agent/api/workspace_routes.h"
#include "agent/operations/operation_manager.h"
#include "agent/registration/node_registration.h"
#include "agent/tls/serving_identity.h"
#include "agent_env.h"
#include "api_on_free_port.h"
#include "controller/agent_client_factory.h"
#include "controller/agent_directory.h"
#include "inventory/stub_podman.h"
#include "kube/micro_time.h"
#include "operations/fake_phase_runner.h"
#include "temp_dir.h"

using namespace wscp;
using namespace wscp::agent;
using namespace wscp::agent::testing;
using namespace std::chrono_literals;
using nlohmann::json;
namespace ctl = wscp::controller;

namespace {

using wscp::testing::TempDir;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

template <typename T>
std::string describe(const Result<T>& r) {
  return r.ok() ? "" : r.error().describe();
}

tls::ServingIdentity make_identity(const TempDir& dir, const std::string& name) {
  tls::ServingIdentityOptions o;
  o.key_path = dir.file(name + "/key.pem");
  o.cert_path = dir.file(name + "/cert.pem");
  o.common_name = "node-1";
  o.names = {"127.0.0.1"};
  auto id = tls::ensure_serving_identity(o, *system_clock());
  REQUIRE_MESSAGE(id.ok(), describe(id));
  return *id;
}

// One node's agent API on a loopback port, as `wscp-agent serve` wires it
// (operation and workspace routes), counting the requests that reach a
// handler; and the Lease it would publish.
struct AgentNode {
  TempDir dir;
  std::string pki = dir.file("pki");
  tls::ServingIdentity identity;
  FakePhaseRunner runner;
  StubPodman podman;
  StubProbe probe;
  inventory::Inventory inventory{podman, probe, {}};
  std::unique_ptr<operations::OperationManager> manager;
  api::Router handlers;
  std::atomic<int> handled{0};
  std::unique_ptr<api::ApiServer> server;
  std::uint16_t port = 0;

  AgentNode() {
    auto made = run_command("'" + std::string(WSCP_AGENT_INTEGRATION_DIR) + "/make_pki.sh' '" + pki + "'");
    REQUIRE_MESSAGE(made.status == 0, made.output);
    identity = make_identity(dir, "serving");
    podman.containers = {{"i1", "ws-1-app", "running", {{"dev.containers.id", "ws-1"}}}};
    probe.free["/var/tmp"] = 4096;

    auto store = operations::DirectoryOperationStore::open(dir.file("operations"));
    REQUIRE_MESSAGE(store.ok(), describe(store));
    manager = std::make_unique<operations::OperationManager>(std::move(*store), runner, operations::ManagerOptions{},
                                                             nullptr, nullptr, nullptr);
    REQUIRE(manager->open().ok());
    api::add_operation_routes(handlers, *manager);
    api::add_workspace_routes(handlers, inventory, runner);
    // The served router passes every request on to the real handlers,
    // counting those that get that far.
    api::Router counting;
    for (const std::string& route : handlers.routes()) {
      const auto space = route.find(' ');
      counting.add(route.substr(0, space), route.substr(space + 1), [this](const api::Request& r) {
        ++handled;
        auto m = handlers.match(r.method, r.path);
        return (*std::get<api::Router::Match>(m).handler)(r);
      });
    }

    api::ApiServerConfig c;
    c.address = "127.0.0.1";
    c.cert_file = identity.cert_path;
    c.key_file = identity.key_path;
    c.client_ca_file = pki + "/ca.crt";
    c.allowed_subjects = {"wscp-controller"};
    server = agent::testing::start_api_on_free_port(c, counting);
    port = c.port;
  }

  ~AgentNode() {
    runner.open_gate();
    if (server) server->stop();
    manager->shutdown(5s);
  }

  // The registration Lease, as the agent publishes it, renewed now.
  json lease(const std::string& pin) const {
    registration::RegistrationInfo info;
    info.endpoint = "https://127.0.0.1:" + std::to_string(port);
    info.certificate_sha256 = identity.certificate_sha256;
    info.public_key_pin = pin;
    info.capabilities = {"checkpoint", "restore", "release", "resume", "preflight"};
    info.capacity = json{{"diskFreeBytes", json::object()}, {"workspacesRunning", 1}};
    json annotations = json::object();
    for (const auto& [k, v] : registration::annotations_of(info)) annotations[k] = v;
    const std::string now = kube::format_micro_time(std::chrono::system_clock::now());
    return json{{"metadata",
                 {{"name", registration::lease_name("node-1")},
                  {"namespace", "wscp-system"},
                  {"labels", {{"app.kubernetes.io/name", "wscp-agent"}, {registration::kNodeLabel, "node-1"}}},
                  {"annotations", annotations}}},
                {"spec",
                 {{"holderIdentity", "node-1/0123456789abcdef"},
                  {"leaseDurationSeconds", 20},
                  {"acquireTime", now},
                  {"renewTime", now}}}};
  }

  ctl::AgentClientOptions options(const std::string& client) const {
    ctl::AgentClientOptions o;
    o.client_cert = pki + "/" + client + ".crt";
    o.client_key = pki + "/" + client + ".key";
    o.request_timeout = 10s;
    return o;
  }
};

// The client the controller would use for node-1: through the directory,
// from the Lease (with the given pin), presenting pki/<client>.crt.
std::unique_ptr<ctl::AgentApi> client_of(const AgentNode& node, ctl::AgentDirectory& directory,
                                         const std::string& pin, const std::string& client) {
  REQUIRE(directory.upsert(node.lease(pin)));
  ctl::DirectoryAgentClientFactory factory(directory, node.options(client));
  auto c = factory.client_for("node-1");
  REQUIRE_MESSAGE(c.ok(), describe(c));
  return std::move(*c);
}

operations::Request checkpoint(const std::string& checkpoint_id = "c-1") {
  operations::Request r;
  r.kind = operations::Kind::kCheckpoint;
  r.workspace = "ws-1";
  r.checkpoint_id = checkpoint_id;
  return r;
}

}  // namespace

TEST_CASE("controller agent client: start is 202 then 200 for the same id; get follows it; cancel stops it") {
  AgentNode node;
  ctl::AgentDirectory directory(system_clock());
  auto agent = client_of(node, directory, node.identity.public_key_pin, "client");
  node.runner.close_gate();  // the run holds until cancelled

  auto first = agent->start("op-1", checkpoint());
  REQUIRE_MESSAGE(first.ok(), describe(first));
  CHECK(first->created);
  CHECK(first->operation.id == "op-1");
  CHECK(first->operation.request == checkpoint());
  auto second = agent->start("op-1", checkpoint());
  REQUIRE_MESSAGE(second.ok(), describe(second));
  CHECK_FALSE(second->created);
  CHECK(second->operation.id == "op-1");

  auto other = agent->start("op-1", checkpoint("c-2"));
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().code() == ErrorCode::kConflict);
  CHECK_MESSAGE(has(other.error().message(), "agent of node node-1 (https://127.0.0.1:" +
                                                 std::to_string(node.port) + "): POST /v1/operations: 409 conflict: "),
                other.error().message());

  REQUIRE(eventually(5s, [&] { return node.runner.running == 1; }));
  auto running = agent->get("op-1");
  REQUIRE_MESSAGE(running.ok(), describe(running));
  CHECK(running->state == operations::State::kRunning);
  CHECK(running->progress.bytes_done == 512);
  auto missing = agent->get("op-2");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code() == ErrorCode::kNotFound);

  auto cancel = agent->cancel("op-1");
  REQUIRE_MESSAGE(cancel.ok(), describe(cancel));
  CHECK(cancel->id == "op-1");
  operations::State state = operations::State::kRunning;
  CHECK(eventually(5s, [&] {
    auto op = agent->get("op-1");
    if (op.ok()) state = op->state;
    return state == operations::State::kCancelled;
  }));
  CHECK(state == operations::State::kCancelled);
  auto again = agent->cancel("op-1");  // finished: answered as it is
  REQUIRE(again.ok());
  CHECK(again->state == operations::State::kCancelled);
  CHECK(node.runner.runs == 1);
}

TEST_CASE("controller agent client: preflight and the workspace list through the real server") {
  AgentNode node;
  ctl::AgentDirectory directory(system_clock());
  auto agent = client_of(node, directory, node.identity.public_key_pin, "client");

  auto yes = agent->preflight({"ws-1", "c-1", "main"});
  REQUIRE_MESSAGE(yes.ok(), describe(yes));
  CHECK(yes->can_restore());
  auto no = agent->preflight({"ws-1", "refused", ""});  // the fake runner has no CRIU for this one
  REQUIRE_MESSAGE(no.ok(), describe(no));
  REQUIRE_FALSE(no->can_restore());
  CHECK(no->refusal->status == 422);
  CHECK(no->refusal->code == "unsupported");
  CHECK(no->refusal->error_code == ErrorCode::kUnsupported);
  CHECK(no->refusal->message == "no CRIU here");

  auto listed = agent->list_workspaces();
  REQUIRE_MESSAGE(listed.ok(), describe(listed));
  REQUIRE(listed->workspaces.size() == 1);
  CHECK(listed->workspaces[0].id == "ws-1");
  CHECK(listed->workspaces[0].running);
  CHECK(listed->capacity.memory_available_bytes == 1024u * 1024u);
  CHECK(listed->capacity.disk_free_bytes.at("/var/tmp") == 4096);

  node.podman.reachable = false;
  auto down = agent->list_workspaces();
  REQUIRE_FALSE(down.ok());
  CHECK(down.error().code() == ErrorCode::kUnavailable);
  CHECK(has(down.error().message(), "GET /v1/workspaces: 503 unavailable: "));
}

TEST_CASE("controller agent client: a wrong pin is refused in the handshake, before any handler") {
  AgentNode node;
  TempDir other_dir;
  // The pin of another key: an agent that is not the one that registered.
  const std::string wrong_pin = make_identity(other_dir, "elsewhere").public_key_pin;
  REQUIRE(wrong_pin != node.identity.public_key_pin);
  ctl::AgentDirectory directory(system_clock());
  auto agent = client_of(node, directory, wrong_pin, "client");

  auto started = agent->start("op-1", checkpoint());
  REQUIRE_FALSE(started.ok());
  CHECK(started.error().code() == ErrorCode::kPermissionDenied);
  CHECK_MESSAGE(has(started.error().message(), "agent of node node-1"), started.error().message());
  CHECK_MESSAGE(has(started.error().message(), "pinned public key"), started.error().message());
  CHECK_FALSE(agent->list_workspaces().ok());
  CHECK_FALSE(agent->preflight({"ws-1", "c-1", ""}).ok());
  CHECK(node.handled == 0);
  CHECK(node.manager->list().empty());
  CHECK(node.runner.runs == 0);

  // The published pin gets in.
  auto right = client_of(node, directory, node.identity.public_key_pin, "client");
  CHECK(right->list_workspaces().ok());
  CHECK(node.handled == 1);
}

TEST_CASE("controller agent client: a client certificate from another CA, or another subject, is refused") {
  AgentNode node;
  ctl::AgentDirectory directory(system_clock());
  for (const std::string client : {"other", "intruder", "expired"}) {
    CAPTURE(client);
    auto agent = client_of(node, directory, node.identity.public_key_pin, client);
    auto started = agent->start("op-1", checkpoint());
    REQUIRE_FALSE(started.ok());
    CHECK_MESSAGE(has(started.error().message(), "agent of node node-1"), started.error().message());
    // The server refused the handshake with a TLS alert (unknown ca,
    // handshake failure, certificate expired); no HTTP answer came.
    CHECK_MESSAGE(has(started.error().message(), "alert"), started.error().message());
  }
  CHECK(node.handled == 0);
  CHECK(node.manager->list().empty());
  CHECK(node.runner.runs == 0);
}
