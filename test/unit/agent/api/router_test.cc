#include "agent/api/router.h"

#include <doctest/doctest.h>

#include "agent/api/health_routes.h"

using namespace wscp;
using namespace wscp::agent::api;

namespace {

Router sample() {
  Router r;
  r.add("GET", "/v1/operations/{id}", [](const Request& q) { return Response::json(200, {{"id", q.params.at("id")}}); });
  r.add("DELETE", "/v1/operations/{id}", [](const Request&) { return Response::json(202, {}); });
  r.add("GET", "/v1/operations/current", [](const Request&) { return Response::json(200, {{"current", true}}); });
  r.add("POST", "/v1/operations", [](const Request&) { return Response::json(201, {}); });
  return r;
}

nlohmann::json body(const Response& r) { return nlohmann::json::parse(r.body); }

}  // namespace

TEST_CASE("routes match with their parameters decoded") {
  Router r = sample();
  auto m = r.match("GET", "/v1/operations/op%2F1%20x");
  REQUIRE(std::holds_alternative<Router::Match>(m));
  auto& match = std::get<Router::Match>(m);
  CHECK(match.route == "GET /v1/operations/{id}");
  CHECK(match.params.at("id") == "op/1 x");  // an encoded slash stays in its segment
  Request q;
  q.params = match.params;
  CHECK(body((*match.handler)(q))["id"] == "op/1 x");
}

TEST_CASE("a literal segment wins over a parameter") {
  auto m = sample().match("GET", "/v1/operations/current");
  REQUIRE(std::holds_alternative<Router::Match>(m));
  CHECK(std::get<Router::Match>(m).route == "GET /v1/operations/current");
}

TEST_CASE("an unknown path is 404, a known path with another method 405 with Allow") {
  Router r = sample();
  auto missing = r.match("GET", "/v1/nothing");
  REQUIRE(std::holds_alternative<Response>(missing));
  CHECK(std::get<Response>(missing).status == 404);
  CHECK(body(std::get<Response>(missing))["error"]["code"] == "not_found");
  CHECK(body(std::get<Response>(missing))["error"]["message"].get<std::string>().find("/v1/nothing") != std::string::npos);

  auto wrong = r.match("PUT", "/v1/operations/x");
  REQUIRE(std::holds_alternative<Response>(wrong));
  const auto& resp = std::get<Response>(wrong);
  CHECK(resp.status == 405);
  CHECK(body(resp)["error"]["code"] == "method_not_allowed");
  REQUIRE(resp.headers.size() == 1);
  CHECK(resp.headers[0].name == "Allow");
  CHECK(resp.headers[0].value == "DELETE, GET");
}

TEST_CASE("a path for another API version says which versions are served") {
  auto m = sample().match("GET", "/v2/operations/x");
  REQUIRE(std::holds_alternative<Response>(m));
  const auto& resp = std::get<Response>(m);
  CHECK(resp.status == 404);
  CHECK(body(resp)["error"]["code"] == "unknown_api_version");
  CHECK(body(resp)["error"]["message"].get<std::string>().find("serves v1") != std::string::npos);
}

TEST_CASE("trailing slashes, empty segments and bad escapes do not match") {
  Router r = sample();
  CHECK(std::get<Response>(r.match("GET", "/v1/operations/")).status == 404);
  CHECK(std::get<Response>(r.match("GET", "/v1//x")).status == 404);
  CHECK(std::get<Response>(r.match("GET", "/v1/operations/%zz")).status == 400);
  CHECK(std::get<Response>(r.match("GET", "/v1/operations/%00")).status == 400);
  CHECK(std::get<Response>(r.match("GET", "/v1/operations/%4")).status == 400);
}

TEST_CASE("health routes: /healthz always, /readyz from the check") {
  Router r;
  Status ready = Error(ErrorCode::kUnavailable, "Podman is not reachable at /run/podman/podman.sock");
  add_health_routes(r, [&] { return ready; });
  Request q;
  auto h = std::get<Router::Match>(r.match("GET", "/healthz"));
  CHECK((*h.handler)(q).status == 200);
  auto rd = std::get<Router::Match>(r.match("GET", "/readyz"));
  auto not_ready = (*rd.handler)(q);
  CHECK(not_ready.status == 503);
  CHECK(body(not_ready)["error"]["message"].get<std::string>().find("Podman is not reachable") != std::string::npos);
  ready = Ok{};
  CHECK((*rd.handler)(q).status == 200);
}

TEST_CASE("request bodies: JSON with a reason when it is not") {
  Request q;
  q.headers.push_back({"content-type", "application/json; charset=utf-8"});
  q.body = R"({"a": 1})";
  auto ok = q.json_body();
  REQUIRE(ok.ok());
  CHECK((*ok)["a"] == 1);
  q.body = R"({"a": )";
  auto bad = q.json_body();
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code() == ErrorCode::kInvalidArgument);
  CHECK(bad.error().message().find("not valid JSON") != std::string::npos);
  q.body = "";
  CHECK(q.json_body().error().message().find("needs a JSON body") != std::string::npos);
  q.headers = {{"Content-Type", "text/plain"}};
  q.body = "{}";
  CHECK(q.json_body().error().message().find("Content-Type: application/json") != std::string::npos);
}

TEST_CASE("errors map to statuses with an error object") {
  auto check = [](ErrorCode code, int status, const char* word) {
    auto r = Response::from_error(Error(code, "what happened"));
    CHECK(r.status == status);
    CHECK(body(r) == nlohmann::json{{"error", {{"code", word}, {"message", "what happened"}}}});
  };
  check(ErrorCode::kInvalidArgument, 400, "invalid_argument");
  check(ErrorCode::kNotFound, 404, "not_found");
  check(ErrorCode::kConflict, 409, "conflict");
  check(ErrorCode::kPermissionDenied, 403, "permission_denied");
  check(ErrorCode::kUnavailable, 503, "unavailable");
  check(ErrorCode::kInternal, 500, "internal");
}
