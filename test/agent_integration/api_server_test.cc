// The agent's HTTPS API server (cpprestsdk http_listener) with mutual TLS,
// over real TLS on loopback. Client certificates are made by make_pki.sh
// with the openssl command line; the server's own key by the agent.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>

#include "temp_dir.h"
#include "agent/api/api_server.h"
#include "agent/api/health_routes.h"
#include "agent/tls/serving_identity.h"
#include "agent_env.h"
#include "api_on_free_port.h"
#include "common/memory_stream.h"
#include "metrics/agent_metrics.h"

using namespace wscp;
using namespace wscp::agent;
using namespace wscp::agent::testing;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kMaxBody = 4096;

using wscp::testing::TempDir;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

double series_value(const std::string& exposition, const std::string& series) {
  auto at = exposition.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(exposition.substr(at + series.size() + 2));
}

// An agent API on a free loopback port, with the test PKI and a handler
// counter: a refused connection must never reach a handler.
struct Api {
  TempDir dir;
  std::string pki = dir.file("pki");
  tls::ServingIdentity identity;
  std::shared_ptr<metrics::AgentMetrics> metrics = std::make_shared<metrics::AgentMetrics>("test");
  std::shared_ptr<std::atomic<int>> handled = std::make_shared<std::atomic<int>>(0);
  std::unique_ptr<api::ApiServer> server;
  std::uint16_t port = 0;

  explicit Api(bool ca_signed = false, std::vector<std::string> allowed = {"wscp-controller"}) {
    auto made = run_command("'" + std::string(WSCP_AGENT_INTEGRATION_DIR) + "/make_pki.sh' '" + pki + "'");
    REQUIRE_MESSAGE(made.status == 0, made.output);
    tls::ServingIdentityOptions o;
    o.key_path = dir.file("serving/key.pem");
    o.cert_path = dir.file("serving/cert.pem");
    o.common_name = "node-1";
    o.names = {"127.0.0.1", "localhost"};
    if (ca_signed) {
      o.signing_ca_cert_path = pki + "/ca.crt";
      o.signing_ca_key_path = pki + "/ca.key";
    }
    auto id = tls::ensure_serving_identity(o, *system_clock());
    REQUIRE_MESSAGE(id.ok(), (id.ok() ? "" : id.error().describe()));
    identity = *id;

    api::Router router;
    auto count = handled;
    api::add_health_routes(router, [count] {
      ++*count;
      return Status(Ok{});
    });
    router.add("POST", "/v1/echo", [count](const api::Request& r) {
      ++*count;
      auto body = r.json_body();
      if (!body) return api::Response::from_error(body.error());
      return api::Response::json(200, {{"echo", *body}});
    });
    router.add("GET", "/v1/count", [count](const api::Request&) {
      ++*count;
      return api::Response::json(200, {{"count", count->load()}});
    });
    api::ApiServerConfig c;
    c.address = "127.0.0.1";
    c.max_body_bytes = kMaxBody;
    c.cert_file = identity.cert_path;
    c.key_file = identity.key_path;
    c.client_ca_file = pki + "/ca.crt";
    c.allowed_subjects = std::move(allowed);
    server = start_api_on_free_port(c, router, metrics);
    port = c.port;
  }

  std::string url(const std::string& path) const { return "https://127.0.0.1:" + std::to_string(port) + path; }

  // A client presenting pki/NAME.crt (none when name is empty), pinning the
  // server's public key (or `pin` when given).
  std::unique_ptr<http::Client> client(const std::string& name, std::string pin = "") const {
    http::ClientConfig c;
    if (!name.empty()) {
      c.client_cert = pki + "/" + name + ".crt";
      c.client_key = pki + "/" + name + ".key";
    }
    c.verify_peer = false;  // the self-signed server is known by its pinned key
    c.pinned_public_key = pin.empty() ? identity.public_key_pin : pin;
    c.bypass_proxy = true;
    return http::make_curl_client(c);
  }

  Result<http::Response> get(http::Client& c, const std::string& path) const {
    http::Request r;
    r.url = url(path);
    r.timeout = 10s;
    return c.send(r);
  }

  Result<http::Response> post(http::Client& c, const std::string& path, std::string body,
                              std::string type = "application/json") const {
    http::Request r;
    r.method = "POST";
    r.url = url(path);
    r.headers.push_back({"Content-Type", type});
    r.body = std::move(body);
    r.timeout = 10s;
    return c.send(r);
  }
};

nlohmann::json error_of(const http::Response& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  REQUIRE_MESSAGE((!j.is_discarded() && j.contains("error")), r.body);
  return j["error"];
}

// A TLS client made with OpenSSL directly: connects, and when the handshake
// completes (from its side) sends `request` at once and reads what comes
// back until the server closes or 5 s pass.
struct RawExchange {
  bool handshake = false;
  std::string received;
};

RawExchange raw_exchange(std::uint16_t port, int only_version, const std::string& cert, const std::string& key,
                         const std::string& request) {
  RawExchange out;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  SSL_CTX_set_security_level(ctx.get(), 0);  // let the client offer old versions
  if (only_version != 0) {
    SSL_CTX_set_min_proto_version(ctx.get(), only_version);
    SSL_CTX_set_max_proto_version(ctx.get(), only_version);
  }
  if (!cert.empty()) {
    REQUIRE(SSL_CTX_use_certificate_file(ctx.get(), cert.c_str(), SSL_FILETYPE_PEM) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) == 1);
  }
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  SSL* ssl = SSL_new(ctx.get());
  SSL_set_fd(ssl, fd);
  out.handshake = SSL_connect(ssl) == 1;
  if (out.handshake) {
    SSL_write(ssl, request.data(), static_cast<int>(request.size()));
    char buf[4096];
    int n = 0;
    while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) out.received.append(buf, static_cast<std::size_t>(n));
  }
  SSL_free(ssl);
  ::close(fd);
  ERR_clear_error();
  return out;
}

}  // namespace

TEST_CASE("api: a client with a certificate from the CA, pinning the agent's key, gets 200 from /healthz") {
  Api api;
  auto c = api.client("client");
  auto r = api.get(*c, "/healthz");
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().describe()));
  CHECK(r->status == 200);
  CHECK(nlohmann::json::parse(r->body) == nlohmann::json{{"status", "ok"}});
  CHECK(r->header("Content-Type").value_or("") == "application/json");
  auto ready = api.get(*c, "/readyz");
  REQUIRE(ready.ok());
  CHECK(ready->status == 200);
  CHECK(*api.handled == 1);  // /readyz ran its check; /healthz has none
  CHECK(series_value(api.metrics->exposition(), R"(wscp_agent_api_requests_total{code="200",route="GET /healthz"})") == 1);
}

TEST_CASE("api: a server certificate signed by the CA verifies by name, without a pin") {
  Api api(true);
  http::ClientConfig c;
  c.ca_file = api.pki + "/ca.crt";
  c.client_cert = api.pki + "/client.crt";
  c.client_key = api.pki + "/client.key";
  c.bypass_proxy = true;
  auto client = http::make_curl_client(c);
  auto r = api.get(*client, "/healthz");
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().describe()));
  CHECK(r->status == 200);
}

TEST_CASE("api: connections without an acceptable client certificate are refused before any handler runs") {
  Api api;
  struct Refusal {
    const char* name;
    const char* cert;
    const char* reason;
  };
  for (const auto& refusal : {Refusal{"no certificate", "", "missing"}, Refusal{"another CA", "other", "untrusted"},
                              Refusal{"expired", "expired", "expired"}, Refusal{"subject not allowed", "intruder", "subject"}}) {
    CAPTURE(refusal.name);
    auto c = api.client(refusal.cert);
    auto r = api.get(*c, "/v1/count");
    CHECK_FALSE(r.ok());
    auto echo = api.post(*c, "/v1/echo", R"({"a": 1})");
    CHECK_FALSE(echo.ok());
    const std::string series = std::string(R"(wscp_agent_api_tls_refusals_total{reason=")") + refusal.reason + "\"}";
    CHECK(series_value(api.metrics->exposition(), series) >= 1);
  }
  CHECK(*api.handled == 0);
  // And the server still serves the right client afterwards.
  auto ok = api.get(*api.client("client"), "/v1/count");
  REQUIRE(ok.ok());
  CHECK(nlohmann::json::parse(ok->body)["count"] == 1);
}

TEST_CASE("api: a request sent right after a refused handshake is never read") {
  // TLS 1.3 lets a client send data before the server has judged its
  // certificate: the listener must not read that data as a request.
  Api api;
  const std::string request = "GET /v1/count HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n";
  for (const std::string cert : {"", "other", "intruder", "expired"}) {
    CAPTURE(cert);
    auto x = raw_exchange(api.port, TLS1_3_VERSION, cert.empty() ? "" : api.pki + "/" + cert + ".crt",
                          api.pki + "/" + cert + ".key", request);
    CHECK_FALSE(has(x.received, "HTTP/1.1"));
  }
  CHECK(*api.handled == 0);
  auto good = raw_exchange(api.port, TLS1_3_VERSION, api.pki + "/client.crt", api.pki + "/client.key",
                           "GET /v1/count HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  CHECK(good.handshake);
  CHECK(has(good.received, "HTTP/1.1 200"));
  CHECK(*api.handled == 1);
}

TEST_CASE("api: TLS 1.1 is refused, TLS 1.2 is accepted") {
  Api api;
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  auto old = raw_exchange(api.port, TLS1_1_VERSION, api.pki + "/client.crt", api.pki + "/client.key", request);
  CHECK_FALSE(old.handshake);
  auto v12 = raw_exchange(api.port, TLS1_2_VERSION, api.pki + "/client.crt", api.pki + "/client.key", request);
  CHECK(v12.handshake);
  CHECK(has(v12.received, "HTTP/1.1 200"));
}

TEST_CASE("api: a client pinning another key does not connect") {
  Api api;
  auto c = api.client("client", "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  auto r = api.get(*c, "/healthz");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kPermissionDenied);
  CHECK(*api.handled == 0);
}

TEST_CASE("api: bodies over the limit are refused with 413 unread; chunked bodies with 411") {
  Api api;
  auto c = api.client("client");
  auto big = api.post(*c, "/v1/echo", "[" + std::string(kMaxBody, ' ') + "]");
  REQUIRE_MESSAGE(big.ok(), (big.ok() ? "" : big.error().describe()));
  CHECK(big->status == 413);
  CHECK(error_of(*big)["code"] == "payload_too_large");
  CHECK(has(error_of(*big)["message"].get<std::string>(), "at most 4096"));

  StringSource source(R"({"a": 1})");
  http::Request chunked;
  chunked.method = "POST";
  chunked.url = api.url("/v1/echo");
  chunked.headers.push_back({"Content-Type", "application/json"});
  chunked.body_stream = &source;  // no size: chunked
  chunked.timeout = 10s;
  auto ch = c->send(chunked);
  REQUIRE(ch.ok());
  CHECK(ch->status == 411);
  CHECK(error_of(*ch)["code"] == "length_required");
  CHECK(*api.handled == 0);

  auto fits = api.post(*c, "/v1/echo", R"({"a": [1, 2, 3]})");
  REQUIRE(fits.ok());
  CHECK(fits->status == 200);
  CHECK(nlohmann::json::parse(fits->body)["echo"]["a"].size() == 3);
}

TEST_CASE("api: malformed JSON is 400 with the reason") {
  Api api;
  auto c = api.client("client");
  auto r = api.post(*c, "/v1/echo", R"({"a": )");
  REQUIRE(r.ok());
  CHECK(r->status == 400);
  CHECK(error_of(*r)["code"] == "invalid_argument");
  CHECK(has(error_of(*r)["message"].get<std::string>(), "not valid JSON"));
  auto wrong_type = api.post(*c, "/v1/echo", "{}", "text/plain");
  REQUIRE(wrong_type.ok());
  CHECK(wrong_type->status == 400);
  CHECK(has(error_of(*wrong_type)["message"].get<std::string>(), "Content-Type: application/json"));
}

TEST_CASE("api: unknown routes are 404, other versions name the served one, wrong methods 405") {
  Api api;
  auto c = api.client("client");
  auto missing = api.get(*c, "/v1/nothing");
  REQUIRE(missing.ok());
  CHECK(missing->status == 404);
  CHECK(error_of(*missing)["code"] == "not_found");
  auto v2 = api.get(*c, "/v2/echo");
  REQUIRE(v2.ok());
  CHECK(v2->status == 404);
  CHECK(has(error_of(*v2)["message"].get<std::string>(), "serves v1"));
  auto wrong = api.get(*c, "/v1/echo");
  REQUIRE(wrong.ok());
  CHECK(wrong->status == 405);
  CHECK(wrong->header("Allow").value_or("") == "POST");
  CHECK(*api.handled == 0);
  CHECK(series_value(api.metrics->exposition(), R"(wscp_agent_api_requests_total{code="404",route="unmatched"})") == 2);
}

TEST_CASE("api: a server that cannot read its files or take its port says which") {
  Api api;
  api::ApiServerConfig c;
  c.address = "127.0.0.1";
  c.port = api.port;  // taken
  c.cert_file = api.identity.cert_path;
  c.key_file = api.identity.key_path;
  c.client_ca_file = api.pki + "/ca.crt";
  auto taken = api::make_cpprest_api_server(c, api::Router{}, nullptr, nullptr)->start();
  REQUIRE_FALSE(taken.ok());
  CHECK(taken.error().code() == ErrorCode::kUnavailable);
  CHECK(has(taken.error().message(), std::to_string(api.port)));
  c.port = free_port();
  c.client_ca_file = api.pki + "/missing.crt";
  auto missing = api::make_cpprest_api_server(c, api::Router{}, nullptr, nullptr)->start();
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code() == ErrorCode::kInvalidArgument);
  CHECK(has(missing.error().message(), "missing.crt"));
  c.client_ca_file = api.pki + "/ca.crt";
  c.key_file = api.pki + "/client.key";  // not the certificate's key
  auto mismatch = api::make_cpprest_api_server(c, api::Router{}, nullptr, nullptr)->start();
  REQUIRE_FALSE(mismatch.ok());
  CHECK(has(mismatch.error().message(), "does not belong"));
}
