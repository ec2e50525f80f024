#include "kube/api_error.h"

#include <doctest/doctest.h>

using namespace wscp;
using namespace wscp::kube;

namespace {

std::string status_body(int code, const std::string& reason, const std::string& message) {
  return nlohmann::json{{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
                        {"code", code},     {"reason", reason},   {"message", message}}
      .dump();
}

}  // namespace

TEST_CASE("api errors: HTTP status and reason map to error codes, reason and message kept") {
  struct Case {
    int status;
    const char* reason;
    ErrorCode code;
    bool not_found, already_exists, conflict, gone;
  };
  const Case cases[] = {
      {404, "NotFound", ErrorCode::kNotFound, true, false, false, false},
      {409, "AlreadyExists", ErrorCode::kConflict, false, true, false, false},
      {409, "Conflict", ErrorCode::kConflict, false, false, true, false},
      {410, "Expired", ErrorCode::kNotFound, false, false, false, true},
      {410, "Gone", ErrorCode::kNotFound, false, false, false, true},
      {401, "Unauthorized", ErrorCode::kPermissionDenied, false, false, false, false},
      {403, "Forbidden", ErrorCode::kPermissionDenied, false, false, false, false},
      {422, "Invalid", ErrorCode::kInvalidArgument, false, false, false, false},
      {400, "BadRequest", ErrorCode::kInvalidArgument, false, false, false, false},
      {415, "UnsupportedMediaType", ErrorCode::kInvalidArgument, false, false, false, false},
      {429, "TooManyRequests", ErrorCode::kUnavailable, false, false, false, false},
      {500, "InternalError", ErrorCode::kUnavailable, false, false, false, false},
      {503, "ServiceUnavailable", ErrorCode::kUnavailable, false, false, false, false},
      {504, "Timeout", ErrorCode::kUnavailable, false, false, false, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.status);
    CAPTURE(c.reason);
    http::Response r{c.status, {}, status_body(c.status, c.reason, "the server says why")};
    Error e = api_error(r, "get widgets ns/w");
    CHECK(e.code() == c.code);
    CHECK(api_reason(e) == c.reason);
    CHECK(api_status(e) == c.status);
    CHECK(is_not_found(e) == c.not_found);
    CHECK(is_already_exists(e) == c.already_exists);
    CHECK(is_conflict(e) == c.conflict);
    CHECK(is_gone(e) == c.gone);
    CHECK(e.message().starts_with("get widgets ns/w: HTTP " + std::to_string(c.status) + " " + c.reason +
                                  ": the server says why"));
    // Context added later does not hide the reason.
    CHECK(api_reason(e.wrap("reconcile ns/w")) == c.reason);
    CHECK(is_gone(e.wrap("x")) == c.gone);
  }
}

TEST_CASE("api errors: forbidden says to check RBAC, unauthorized says to check credentials") {
  http::Response forbidden{403, {},
                           status_body(403, "Forbidden",
                                       "workspacecheckpoints.wscp.dev is forbidden: User \"x\" cannot list resource "
                                       "\"workspacecheckpoints\" in API group \"wscp.dev\" in the namespace \"d\"")};
  Error f = api_error(forbidden, "list workspacecheckpoints.wscp.dev in namespace d");
  CHECK(f.message().find("User \"x\" cannot list resource \"workspacecheckpoints\"") != std::string::npos);
  CHECK(f.message().find("check the RBAC role") != std::string::npos);
  CHECK(is_forbidden(f));

  Error u = api_error(http::Response{401, {}, status_body(401, "Unauthorized", "Unauthorized")}, "get x");
  CHECK(u.message().find("refused the credentials") != std::string::npos);
  CHECK(is_unauthorized(u));
}

TEST_CASE("api errors: a resource the server does not serve suggests the CRD") {
  Error e = api_error(
      http::Response{404, {}, status_body(404, "NotFound", "the server could not find the requested resource")},
      "list workspacecheckpoints.wscp.dev");
  CHECK(e.message().find("CRD") != std::string::npos);
  Error no_group = api_error(http::Response{404, {}, "404 page not found\n"}, "list widgets.nothing.example");
  CHECK(no_group.message() ==
        "list widgets.nothing.example: HTTP 404 NotFound: 404 page not found; the API server does not serve this "
        "resource: is its CRD installed (crds/)?");
  Error plain = api_error(http::Response{404, {}, status_body(404, "NotFound", "pods \"p\" not found")}, "get");
  CHECK(plain.message().find("CRD") == std::string::npos);
}

TEST_CASE("api errors: a body that is not a Status still gives the HTTP status and a default reason") {
  Error e = api_error(http::Response{502, {}, "<html>Bad Gateway</html>\x01"}, "get x");
  CHECK(e.code() == ErrorCode::kUnavailable);
  CHECK(api_reason(e) == "BadGateway");
  CHECK(e.message().find("<html>Bad Gateway</html>") != std::string::npos);
  Error empty = api_error(http::Response{409, {}, ""}, "update x");
  CHECK(api_reason(empty) == "Conflict");
  CHECK(is_conflict(empty));
  CHECK(empty.message().find("(no body)") != std::string::npos);
}

TEST_CASE("api errors: a watch ERROR event's Status") {
  Error e = api_error_from_status(
      {{"kind", "Status"}, {"code", 410}, {"reason", "Expired"}, {"message", "too old resource version: 5 (9)"}},
      "watch pods");
  CHECK(is_gone(e));
  CHECK(e.message().find("too old resource version") != std::string::npos);
  CHECK(e.message().find("list again") != std::string::npos);
}

TEST_CASE("api errors: errors that are not from the API server have no reason") {
  Error e(ErrorCode::kUnavailable, "GET https://h/: Connection refused");
  CHECK(api_reason(e).empty());
  CHECK(api_status(e) == 0);
  CHECK_FALSE(is_gone(e));
  CHECK_FALSE(is_conflict(e));
}
