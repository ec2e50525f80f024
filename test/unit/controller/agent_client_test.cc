#include "controller/agent_client.h"

#include <doctest/doctest.h>

#include "controller/agent_client_factory.h"
#include "fake_agent_http.h"
#include "lease_fixture.h"

using namespace wscp;
using namespace wscp::controller;
using namespace wscp::controller::testing;
using namespace std::chrono_literals;
using nlohmann::json;
namespace ops = wscp::agent::operations;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

AgentInfo agent_info() {
  AgentInfo a;
  a.lease = "wscp-system/wscp-agent-node-1";
  a.node = "node-1";
  a.endpoint = "https://10.0.3.17:9443";
  a.host = "10.0.3.17";
  a.port = 9443;
  a.public_key_pin = pin_of('k');
  return a;
}

ops::Request checkpoint_request() {
  ops::Request r;
  r.kind = ops::Kind::kCheckpoint;
  r.workspace = "ws-1";
  r.checkpoint_id = "c-1";
  return r;
}

ops::Operation operation(const std::string& id, ops::State state = ops::State::kRunning) {
  ops::Operation op;
  op.id = id;
  op.request = checkpoint_request();
  op.state = state;
  op.created_at = "2026-01-05T10:00:00Z";
  return op;
}

std::string operation_body(const std::string& id, ops::State state = ops::State::kRunning) {
  return ops::to_json(operation(id, state)).dump();
}

std::string error_body(const std::string& code, const std::string& message) {
  return json{{"error", {{"code", code}, {"message", message}}}}.dump();
}

struct Harness {
  std::shared_ptr<FakeAgentHttp> http;
  HttpAgentClient client;
  explicit Harness(FakeAgentHttp::Responder responder, AgentClientOptions options = {})
      : http(std::make_shared<FakeAgentHttp>(std::move(responder))), client(agent_info(), http, options) {}
};

// The error names the node and the endpoint.
void check_names_agent(const Error& e) {
  CHECK_MESSAGE(has(e.message(), "agent of node node-1 (https://10.0.3.17:9443)"), e.message());
}

}  // namespace

TEST_CASE("agent client: start sends the id and request; 202 is created, 200 known") {
  int status = 202;
  Harness h([&](const http::Request&) { return FakeAgentHttp::answer(status, operation_body("op-1")); });
  auto started = h.client.start("op-1", checkpoint_request());
  REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.error().describe()));
  CHECK(started->created);
  CHECK(started->operation == operation("op-1"));

  auto sent = h.http->sent();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].method == "POST");
  CHECK(sent[0].url == "https://10.0.3.17:9443/v1/operations");
  CHECK(sent[0].timeout == AgentClientOptions{}.request_timeout);
  CHECK(sent[0].connect_timeout == AgentClientOptions{}.connect_timeout);
  json body = json::parse(sent[0].body);
  CHECK(body["id"] == "op-1");
  CHECK(body["kind"] == "checkpoint");
  CHECK(body["workspace"] == "ws-1");
  CHECK(body["checkpointId"] == "c-1");
  bool json_type = false;
  for (const auto& hd : sent[0].headers) json_type = json_type || (hd.name == "Content-Type" && hd.value == "application/json");
  CHECK(json_type);

  status = 200;
  auto again = h.client.start("op-1", checkpoint_request());
  REQUIRE(again.ok());
  CHECK_FALSE(again->created);
}

TEST_CASE("agent client: an answer about another operation, or another request, is refused") {
  Harness other_id([](const http::Request& r) {
    return FakeAgentHttp::answer(r.method == "POST" ? 202 : 200, operation_body("op-2"));
  });
  auto started = other_id.client.start("op-1", checkpoint_request());
  REQUIRE_FALSE(started.ok());
  CHECK(started.error().code() == ErrorCode::kInternal);
  CHECK(has(started.error().message(), "answered about operation \"op-2\" when asked about \"op-1\""));
  check_names_agent(started.error());
  auto got = other_id.client.get("op-1");
  REQUIRE_FALSE(got.ok());
  CHECK(got.error().code() == ErrorCode::kInternal);
  CHECK(has(got.error().message(), "answered about operation \"op-2\""));

  Harness other_request([](const http::Request&) {
    auto op = operation("op-1");
    op.request.checkpoint_id = "c-9";
    return FakeAgentHttp::answer(200, ops::to_json(op).dump());
  });
  auto again = other_request.client.start("op-1", checkpoint_request());
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code() == ErrorCode::kInternal);
  CHECK(has(again.error().message(), "with another request"));
}

TEST_CASE("agent client: malformed answers are errors naming the node and endpoint") {
  struct Case {
    const char* name;
    int status;
    std::string body;
    const char* reason;
  };
  const Case cases[] = {
      {"not JSON", 202, "<html>hello</html>", "not valid JSON"},
      {"truncated JSON", 202, operation_body("op-1").substr(0, 30), "not valid JSON"},
      {"an array", 202, "[]", "not a JSON object"},
      {"an operation with a bad state", 202,
       R"({"version":1,"id":"op-1","request":{"kind":"checkpoint","workspace":"ws-1","checkpointId":"c-1"},"state":"dancing"})",
       "does not parse"},
      {"an operation without its request", 202, R"({"version":1,"id":"op-1","state":"running"})", "does not parse"},
      {"an unexpected success status", 204, "", "unexpected status 204"},
      {"a redirect", 302, "", "unexpected status 302"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    Harness h([&](const http::Request&) { return FakeAgentHttp::answer(c.status, c.body); });
    Result<StartedOperation> r = Error(ErrorCode::kInternal, "not called");
    CHECK_NOTHROW(r = h.client.start("op-1", checkpoint_request()));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::kInternal);
    CHECK_MESSAGE(has(r.error().message(), c.reason), r.error().message());
    check_names_agent(r.error());
  }
}

TEST_CASE("agent client: oversized answers are refused") {
  AgentClientOptions o;
  o.max_response_bytes = 64 * 1024;
  std::string big = operation_body("op-1");
  big.insert(big.size() - 1, ",\"pad\":\"" + std::string(100 * 1024, 'x') + "\"");
  Harness h([&](const http::Request&) { return FakeAgentHttp::answer(200, big); }, o);
  auto got = h.client.get("op-1");
  REQUIRE_FALSE(got.ok());
  CHECK(got.error().code() == ErrorCode::kInternal);
  CHECK_MESSAGE(has(got.error().message(), "answer larger than 65536 bytes"), got.error().message());
  check_names_agent(got.error());

  // An error body is bounded the same way.
  Harness errors([&](const http::Request&) { return FakeAgentHttp::answer(500, big); }, o);
  auto failed = errors.client.get("op-1");
  REQUIRE_FALSE(failed.ok());
  CHECK(has(failed.error().message(), "answer larger than"));
}

TEST_CASE("agent client: the agent's error answers map to error codes with its message") {
  struct Case {
    int status;
    const char* code;
    ErrorCode expected;
  };
  const Case cases[] = {
      {400, "invalid_request", ErrorCode::kInvalidArgument},
      {401, "unauthenticated", ErrorCode::kPermissionDenied},
      {403, "permission_denied", ErrorCode::kPermissionDenied},
      {404, "not_found", ErrorCode::kNotFound},
      {409, "conflict", ErrorCode::kConflict},
      {409, "cancelled", ErrorCode::kCancelled},
      {413, "payload_too_large", ErrorCode::kInvalidArgument},
      {418, "teapot", ErrorCode::kInvalidArgument},
      {422, "unsupported", ErrorCode::kUnsupported},
      {429, "too_many", ErrorCode::kUnavailable},
      {500, "internal", ErrorCode::kInternal},
      {500, "integrity", ErrorCode::kIntegrity},
      {500, "checkpoint_failed", ErrorCode::kCheckpointFailed},
      {500, "restore_failed", ErrorCode::kRestoreFailed},
      {502, "bad_gateway", ErrorCode::kUnavailable},
      {503, "unavailable", ErrorCode::kUnavailable},
      {504, "deadline_exceeded", ErrorCode::kDeadlineExceeded},
      {507, "storage", ErrorCode::kInternal},
  };
  for (const auto& c : cases) {
    CAPTURE(c.status);
    CAPTURE(c.code);
    Harness h([&](const http::Request&) { return FakeAgentHttp::answer(c.status, error_body(c.code, "because")); });
    auto r = h.client.start("op-1", checkpoint_request());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == c.expected);
    CHECK_MESSAGE(has(r.error().message(),
                      "POST /v1/operations: " + std::to_string(c.status) + " " + c.code + ": because"),
                  r.error().message());
    check_names_agent(r.error());
  }
}

TEST_CASE("agent client: an error body that is not the agent's still gives the status's code, bounded") {
  Harness h([](const http::Request&) {
    return FakeAgentHttp::answer(503, "<html>upstream\nconnect error" + std::string(5000, '!') + "</html>");
  });
  auto r = h.client.get("op-1");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kUnavailable);
  CHECK_MESSAGE(has(r.error().message(), "503: \"<html>upstream\\x0aconnect error"), r.error().message());
  CHECK(r.error().message().size() < 600);
  CHECK(r.error().retryable());
}

TEST_CASE("agent client: transport failures keep their code and name the agent") {
  Harness h([](const http::Request& r) -> Result<http::Response> {
    return Error(ErrorCode::kPermissionDenied, r.method + " " + r.url + ": SSL: public key does not match pinned public key");
  });
  auto r = h.client.cancel("op-1");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kPermissionDenied);
  CHECK(has(r.error().message(), "DELETE /v1/operations/op-1: DELETE https://10.0.3.17:9443/v1/operations/op-1: SSL"));
  check_names_agent(r.error());
}

TEST_CASE("agent client: an invalid operation id is refused before anything is sent") {
  Harness h([](const http::Request&) { return FakeAgentHttp::answer(200, "{}"); });
  for (const std::string& id : std::vector<std::string>{"", "../etc", std::string(129, 'a'), ".hidden", "a b"}) {
    CAPTURE(id);
    CHECK(h.client.start(id, checkpoint_request()).error().code() == ErrorCode::kInvalidArgument);
    CHECK(h.client.get(id).error().code() == ErrorCode::kInvalidArgument);
    CHECK(h.client.cancel(id).error().code() == ErrorCode::kInvalidArgument);
  }
  CHECK(h.http->sent().empty());
}

TEST_CASE("agent client: get and cancel") {
  Harness h([](const http::Request& r) {
    if (r.method == "GET" && r.url.ends_with("/v1/operations/op-1"))
      return FakeAgentHttp::answer(200, operation_body("op-1"));
    if (r.method == "DELETE" && r.url.ends_with("/v1/operations/op-1"))
      return FakeAgentHttp::answer(202, operation_body("op-1"));
    if (r.method == "DELETE" && r.url.ends_with("/v1/operations/op-2"))
      return FakeAgentHttp::answer(200, operation_body("op-2", ops::State::kSucceeded));
    return FakeAgentHttp::answer(404, error_body("not_found", "no operation " + r.url));
  });
  auto got = h.client.get("op-1");
  REQUIRE(got.ok());
  CHECK(got->state == ops::State::kRunning);
  auto cancelling = h.client.cancel("op-1");
  REQUIRE(cancelling.ok());
  CHECK(cancelling->state == ops::State::kRunning);
  auto finished = h.client.cancel("op-2");
  REQUIRE(finished.ok());
  CHECK(finished->state == ops::State::kSucceeded);
  auto missing = h.client.get("op-3");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code() == ErrorCode::kNotFound);
}

TEST_CASE("agent client: preflight is a yes, a typed refusal, or an error") {
  int status = 200;
  std::string body = R"({"canRestore":true})";
  Harness h([&](const http::Request&) { return FakeAgentHttp::answer(status, body); });
  auto yes = h.client.preflight({"ws-1", "c-1", "main"});
  REQUIRE_MESSAGE(yes.ok(), (yes.ok() ? "" : yes.error().describe()));
  CHECK(yes->can_restore());
  json sent = json::parse(h.http->sent().back().body);
  CHECK(sent == json{{"workspaceId", "ws-1"}, {"checkpointId", "c-1"}, {"store", "main"}});
  CHECK(h.http->sent().back().url == "https://10.0.3.17:9443/v1/preflight");

  CHECK(h.client.preflight({"ws-1", "c-1", ""}).ok());
  CHECK_FALSE(json::parse(h.http->sent().back().body).contains("store"));  // the agent's only store

  for (const auto& [s, code, expected] :
       {std::tuple{422, "unsupported", ErrorCode::kUnsupported}, std::tuple{409, "conflict", ErrorCode::kConflict},
        std::tuple{404, "not_found", ErrorCode::kNotFound}}) {
    CAPTURE(s);
    status = s;
    body = error_body(code, "no CRIU here");
    auto no = h.client.preflight({"ws-1", "c-1", ""});
    REQUIRE(no.ok());
    REQUIRE_FALSE(no->can_restore());
    CHECK(*no->refusal == AgentRefusal{s, code, "no CRIU here", expected});
  }

  status = 503;
  body = error_body("unavailable", "podman down");
  auto down = h.client.preflight({"ws-1", "c-1", ""});
  REQUIRE_FALSE(down.ok());
  CHECK(down.error().code() == ErrorCode::kUnavailable);
  status = 400;
  body = error_body("invalid_request", "store must be a string");
  CHECK(h.client.preflight({"ws-1", "c-1", ""}).error().code() == ErrorCode::kInvalidArgument);
  status = 200;
  body = R"({"canRestore":false})";
  auto odd = h.client.preflight({"ws-1", "c-1", ""});
  REQUIRE_FALSE(odd.ok());
  CHECK(odd.error().code() == ErrorCode::kInternal);

  const auto sent_before = h.http->sent().size();
  CHECK(h.client.preflight({"", "c-1", ""}).error().code() == ErrorCode::kInvalidArgument);
  CHECK(h.http->sent().size() == sent_before);
}

TEST_CASE("agent client: the workspace list is read field by field") {
  std::string body = R"({"workspaces":[
      {"id":"ws-1","primary":"ws-1-app","containers":[{"name":"ws-1-app","id":"abc","state":"running"}],"running":true,"memoryBytes":1024},
      {"id":"ws-2","project":"shop","primary":"web","containers":[],"running":false,"newField":1}],
    "capacity":{"memoryAvailableBytes":5,"diskFreeBytes":{"/var/tmp":7},"workspacesRunning":1}})";
  Harness h([&](const http::Request&) { return FakeAgentHttp::answer(200, body); });
  auto listed = h.client.list_workspaces();
  REQUIRE_MESSAGE(listed.ok(), (listed.ok() ? "" : listed.error().describe()));
  REQUIRE(listed->workspaces.size() == 2);
  CHECK(listed->workspaces[0].memory_bytes == 1024u);
  CHECK(listed->workspaces[0].containers.at(0).state == "running");
  CHECK(listed->workspaces[1].project == "shop");
  CHECK_FALSE(listed->workspaces[1].memory_bytes);
  CHECK(listed->capacity.disk_free_bytes.at("/var/tmp") == 7);

  // Labels (for tenancy): read leniently, one bad label never the answer.
  body = R"({"workspaces":[{"id":"ws-1","primary":"a","containers":[],"running":true,
      "labels":{"wscp.dev/namespace":"team-a","huge":")" + std::string(5000, 'x') + R"(","num":7}}],
    "capacity":{}})";
  auto labelled = h.client.list_workspaces();
  REQUIRE_MESSAGE(labelled.ok(), (labelled.ok() ? "" : labelled.error().describe()));
  const auto& labels = labelled->workspaces.at(0).labels;
  CHECK(labels.at("wscp.dev/namespace") == "team-a");
  CHECK(labels.count("huge") == 0);
  CHECK(labels.count("num") == 0);

  body = R"({"workspaces":[{"id":5}],"capacity":{"workspacesRunning":"many"}})";
  auto bad = h.client.list_workspaces();
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code() == ErrorCode::kInternal);
  CHECK_MESSAGE(has(bad.error().message(), "workspaces[0].id: must be a string"), bad.error().message());
  CHECK_MESSAGE(has(bad.error().message(), "capacity.workspacesRunning"), bad.error().message());
  check_names_agent(bad.error());
}

TEST_CASE("agent client: the HTTP configuration pins the published key and presents the client certificate") {
  AgentClientOptions o;
  o.client_cert = "/etc/wscp/tls/controller.crt";
  o.client_key = "/etc/wscp/tls/controller.key";
  auto c = agent_http_config(agent_info(), o);
  CHECK(c.pinned_public_key == pin_of('k'));
  CHECK_FALSE(c.verify_peer);
  CHECK(c.client_cert == o.client_cert);
  CHECK(c.client_key == o.client_key);
  CHECK(c.bypass_proxy);
}

TEST_CASE("agent client factory: clients come from the directory's answer") {
  auto clock = std::make_shared<SettableClock>();
  AgentDirectory directory(clock);
  directory.upsert(agent_lease("node-1", clock->wall));
  AgentClientOptions o;
  o.client_cert = "/c.crt";
  o.client_key = "/c.key";
  std::vector<http::ClientConfig> made;
  auto fake = std::make_shared<FakeAgentHttp>(
      [](const http::Request&) { return FakeAgentHttp::answer(200, operation_body("op-1")); });
  DirectoryAgentClientFactory factory(directory, o, [&](const http::ClientConfig& c) {
    made.push_back(c);
    // Each client gets its own handle onto the shared fake.
    struct Forward final : http::Client {
      std::shared_ptr<FakeAgentHttp> to;
      Result<http::Response> send(const http::Request& r, ByteSink* s) override { return to->send(r, s); }
    };
    auto f = std::make_unique<Forward>();
    f->to = fake;
    return f;
  });
  auto client = factory.client_for("node-1");
  REQUIRE_MESSAGE(client.ok(), (client.ok() ? "" : client.error().describe()));
  CHECK((*client)->node() == "node-1");
  REQUIRE(made.size() == 1);
  CHECK(made[0].pinned_public_key == pin_of('k'));
  CHECK(made[0].client_cert == "/c.crt");
  CHECK((*client)->get("op-1").ok());
  CHECK(fake->sent().back().url == "https://10.0.3.17:9443/v1/operations/op-1");
  CHECK(made[0].keep_connections);

  // The node's HTTP client (and its open connections) serves the next
  // client while the agent publishes the same key; a new key gets a new one.
  REQUIRE(factory.client_for("node-1").ok());
  CHECK(made.size() == 1);
  auto rekeyed = agent_lease("node-1", clock->wall);
  annotate(rekeyed, "wscp.dev/public-key-pin", pin_of('q'));
  directory.upsert(rekeyed);
  REQUIRE(factory.client_for("node-1").ok());
  REQUIRE(made.size() == 2);
  CHECK(made[1].pinned_public_key == pin_of('q'));

  auto unknown = factory.client_for("node-2");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message() == "no agent registered for node node-2");
  clock->wall += 1min;
  CHECK(factory.client_for("node-1").error().code() == ErrorCode::kUnavailable);

  DirectoryAgentClientFactory no_cert(directory, AgentClientOptions{});
  auto refused = no_cert.client_for("node-1");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kInvalidArgument);
  CHECK(has(refused.error().message(), "client certificate"));
}
