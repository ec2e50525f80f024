// The operation routes (src/agent/api/operation_routes) through the real
// HTTPS listener with mutual TLS, on an OperationManager whose phases are a
// fake runner (the phases themselves need Podman). Client certificates are
// made by make_pki.sh with the openssl command line.
#include <doctest/doctest.h>

#include <filesystem>

#include "temp_dir.h"
#include "agent/api/api_server.h"
#include "agent/api/operation_routes.h"
#include "agent/operations/operation_manager.h"
#include "agent/tls/serving_identity.h"
#include "agent_env.h"
#include "api_on_free_port.h"
#include "operations/fake_phase_runner.h"

using namespace wscp;
using namespace wscp::agent;
using namespace wscp::agent::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr std::uint64_t kMaxBody = 2048;

using wscp::testing::TempDir;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The operation API on a free loopback port: the test PKI, a manager whose
// records live in a temporary directory, and a gated fake runner.
struct OperationsApi {
  TempDir dir;
  std::string pki = dir.file("pki");
  tls::ServingIdentity identity;
  FakePhaseRunner runner;
  std::unique_ptr<operations::OperationManager> manager;
  api::Router router;
  std::unique_ptr<api::ApiServer> server;
  std::uint16_t port = 0;

  OperationsApi() {
    auto made = run_command("'" + std::string(WSCP_AGENT_INTEGRATION_DIR) + "/make_pki.sh' '" + pki + "'");
    REQUIRE_MESSAGE(made.status == 0, made.output);
    tls::ServingIdentityOptions o;
    o.key_path = dir.file("serving/key.pem");
    o.cert_path = dir.file("serving/cert.pem");
    o.common_name = "node-1";
    o.names = {"127.0.0.1"};
    auto id = tls::ensure_serving_identity(o, *system_clock());
    REQUIRE_MESSAGE(id.ok(), (id.ok() ? "" : id.error().describe()));
    identity = *id;

    auto store = operations::DirectoryOperationStore::open(dir.file("operations"));
    REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.error().describe()));
    manager = std::make_unique<operations::OperationManager>(std::move(*store), runner, operations::ManagerOptions{},
                                                             nullptr, nullptr, nullptr);
    REQUIRE(manager->open().ok());
    api::add_operation_routes(router, *manager);

    api::ApiServerConfig c;
    c.address = "127.0.0.1";
    c.max_body_bytes = kMaxBody;
    c.cert_file = identity.cert_path;
    c.key_file = identity.key_path;
    c.client_ca_file = pki + "/ca.crt";
    c.allowed_subjects = {"wscp-controller"};
    server = start_api_on_free_port(c, router);
    port = c.port;
  }

  ~OperationsApi() {
    runner.open_gate();
    if (server) server->stop();
    manager->shutdown(5s);
  }

  // A client presenting pki/NAME.crt (none when name is empty), pinning the
  // server's public key.
  std::unique_ptr<http::Client> client(const std::string& name) const {
    http::ClientConfig c;
    if (!name.empty()) {
      c.client_cert = pki + "/" + name + ".crt";
      c.client_key = pki + "/" + name + ".key";
    }
    c.verify_peer = false;
    c.pinned_public_key = identity.public_key_pin;
    c.bypass_proxy = true;
    return http::make_curl_client(c);
  }

  Result<http::Response> call(http::Client& c, const std::string& method, const std::string& path,
                              std::string body = "") const {
    http::Request r;
    r.method = method;
    r.url = "https://127.0.0.1:" + std::to_string(port) + path;
    if (!body.empty()) r.headers.push_back({"Content-Type", "application/json"});
    r.body = std::move(body);
    r.timeout = 10s;
    return c.send(r);
  }

  // The answer, which must have come (fails the test otherwise).
  http::Response answer(http::Client& c, const std::string& method, const std::string& path,
                        std::string body = "") const {
    auto r = call(c, method, path, std::move(body));
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().describe()));
    return *r;
  }
};

json body_of(const http::Response& r) {
  auto j = json::parse(r.body, nullptr, false);
  REQUIRE_MESSAGE(!j.is_discarded(), r.body);
  return j;
}

const std::string kCheckpoint = R"({"id":"op-1","kind":"checkpoint","workspace":"ws-1","checkpointId":"c-1"})";

}  // namespace

TEST_CASE("operations api: the same id posted twice is one operation; GET finds it, DELETE cancels it") {
  OperationsApi api;
  api.runner.close_gate();  // the run holds until cancelled
  auto c = api.client("client");
  auto first = api.answer(*c, "POST", "/v1/operations", kCheckpoint);
  CHECK(first.status == 202);
  CHECK(body_of(first)["id"] == "op-1");
  auto second = api.answer(*c, "POST", "/v1/operations", kCheckpoint);
  CHECK(second.status == 200);
  CHECK(body_of(second)["id"] == "op-1");
  auto other = api.answer(*c, "POST", "/v1/operations",
                          R"({"id":"op-1","kind":"checkpoint","workspace":"ws-1","checkpointId":"c-2"})");
  CHECK(other.status == 409);
  CHECK(body_of(other)["error"]["code"] == "conflict");

  REQUIRE(eventually(5s, [&] { return api.runner.running == 1; }));
  auto got = api.answer(*c, "GET", "/v1/operations/op-1");
  CHECK(got.status == 200);
  CHECK(body_of(got)["state"] == "running");
  CHECK(body_of(got)["request"]["checkpointId"] == "c-1");
  CHECK(body_of(got)["progress"]["bytes"] == 512);
  CHECK(api.answer(*c, "GET", "/v1/operations/op-2").status == 404);

  auto cancel = api.answer(*c, "DELETE", "/v1/operations/op-1");
  CHECK(cancel.status == 202);
  std::string state;
  CHECK(eventually(5s, [&] {
    state = body_of(api.answer(*c, "GET", "/v1/operations/op-1"))["state"];
    return state == "cancelled";
  }));
  CHECK(state == "cancelled");
  CHECK(api.answer(*c, "DELETE", "/v1/operations/op-1").status == 200);  // finished: as it is
  auto all = body_of(api.answer(*c, "GET", "/v1/operations"));
  CHECK(all["operations"].size() == 1);
  CHECK(api.runner.runs == 1);
}

TEST_CASE("operations api: no client certificate, or one from another CA, is refused and starts nothing") {
  OperationsApi api;
  for (const std::string name : {"", "other", "intruder"}) {
    CAPTURE(name);
    auto c = api.client(name);
    auto r = api.call(*c, "POST", "/v1/operations", kCheckpoint);
    CHECK_FALSE(r.ok());  // the handshake fails: no HTTP answer at all
  }
  CHECK(api.manager->list().empty());
  CHECK(api.runner.runs == 0);
  // The right client still gets in afterwards.
  auto c = api.client("client");
  CHECK(api.answer(*c, "GET", "/v1/operations/op-1").status == 404);
}

TEST_CASE("operations api: malformed JSON, unknown fields and oversized bodies are refused with a reason") {
  OperationsApi api;
  auto c = api.client("client");
  struct Case {
    std::string body;
    int status;
    const char* code;
    const char* reason;
  };
  const Case cases[] = {
      {R"({"id":"op-1","kind":"checkpoint",)", 400, "invalid_argument", "not valid JSON"},
      {R"({"id":"op-1","kind":"checkpoint","workspace":"ws-1","checkpointId":"c-1","force":true})", 400,
       "invalid_request", "force is not a known field"},
      {R"({"id":"op-1","kind":"teleport","workspace":"ws-1","checkpointId":"c-1"})", 400, "invalid_request",
       "teleport"},
      {R"({"id":"op-1","kind":"checkpoint","workspace":"ws-1","checkpointId":"c-1","pad":")" +
           std::string(kMaxBody, 'x') + "\"}",
       413, "payload_too_large", "at most 2048"},
  };
  for (const auto& k : cases) {
    CAPTURE(k.body.substr(0, 120));
    auto r = api.answer(*c, "POST", "/v1/operations", k.body);
    CHECK(r.status == k.status);
    auto error = body_of(r)["error"];
    CHECK(error["code"] == k.code);
    CHECK_MESSAGE(has(error["message"].get<std::string>(), k.reason), error.dump());
  }
  CHECK(api.answer(*c, "GET", "/v1/operations/op-1").status == 404);
  CHECK(api.manager->list().empty());
  CHECK(api.runner.runs == 0);
  // A good body afterwards starts exactly one.
  CHECK(api.answer(*c, "POST", "/v1/operations", kCheckpoint).status == 202);
  CHECK(eventually(5s, [&] { return api.runner.runs == 1; }));
}
