#include "podman/libpod_errors.h"

#include <doctest/doctest.h>

namespace wscp::podman {
namespace {

TEST_CASE("libpod error answers map to error codes and keep libpod's message") {
  const std::string body = R"({"cause":"no such container","message":"no container with name or ID \"x\" found: no such container","response":404})";
  Error e = libpod_error_from_response(404, body, "inspect x", ErrorCode::kInternal);
  CHECK(e.code() == ErrorCode::kNotFound);
  CHECK(e.message() == "inspect x: libpod answered HTTP 404: no container with name or ID \"x\" found: no such container");

  CHECK(libpod_error_from_response(409, "{}", "w", ErrorCode::kInternal).code() == ErrorCode::kConflict);
  CHECK(libpod_error_from_response(400, "{}", "w", ErrorCode::kInternal).code() == ErrorCode::kInvalidArgument);
  CHECK(libpod_error_from_response(500, R"({"message":"the container name \"web\" is already in use by abc"})", "w",
                                   ErrorCode::kRestoreFailed)
            .code() == ErrorCode::kConflict);
  Error criu = libpod_error_from_response(500, R"({"message":"criu failed\n"})", "checkpoint c", ErrorCode::kCheckpointFailed);
  CHECK(criu.code() == ErrorCode::kCheckpointFailed);
  CHECK(criu.message().ends_with("criu failed"));
}

TEST_CASE("a body that is not JSON is quoted as it is") {
  Error e = libpod_error_from_response(502, "bad gateway", "info", ErrorCode::kInternal);
  CHECK(e.code() == ErrorCode::kInternal);
  CHECK(e.message().find("bad gateway") != std::string::npos);
}

}  // namespace
}  // namespace wscp::podman
