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

TEST_CASE("only Podman's own name and id conflicts are conflicts, not every 'already in use'") {
  // Podman 5.4's answers, as measured in the sandbox: restoring under a
  // name that is taken, and with an id that is taken.
  CHECK(libpod_error_from_response(
            500,
            R"({"cause":"that name is already in use","message":"creating container storage: the container name \"c2\" is already in use by de643bd9647d. You have to remove that container to be able to reuse that name: that name is already in use","response":500})",
            "restore", ErrorCode::kRestoreFailed)
            .code() == ErrorCode::kConflict);
  CHECK(libpod_error_from_response(
            500, R"({"cause":"that ID is already in use","message":"creating container storage: that ID is already in use","response":500})",
            "restore", ErrorCode::kRestoreFailed)
            .code() == ErrorCode::kConflict);
  // A published port that is taken (Podman's port reservation, and
  // netavark's own message): the restore failed, nobody else's container.
  CHECK(libpod_error_from_response(
            500,
            R"({"cause":"address already in use","message":"cannot listen on the TCP port: listen tcp4 :8080: bind: address already in use","response":500})",
            "restore", ErrorCode::kRestoreFailed)
            .code() == ErrorCode::kRestoreFailed);
  CHECK(libpod_error_from_response(
            500,
            R"j({"cause":"netavark (exit code 1): IO error: Address already in use (os error 98)","message":"netavark (exit code 1): IO error: Address already in use (os error 98)","response":500})j",
            "restore", ErrorCode::kRestoreFailed)
            .code() == ErrorCode::kRestoreFailed);
  CHECK(libpod_error_from_response(500, "netavark: IO error: Address already in use (os error 98)", "restore",
                                   ErrorCode::kRestoreFailed)
            .code() == ErrorCode::kRestoreFailed);
}

TEST_CASE("a body that is not JSON is quoted as it is") {
  Error e = libpod_error_from_response(502, "bad gateway", "info", ErrorCode::kInternal);
  CHECK(e.code() == ErrorCode::kInternal);
  CHECK(e.message().find("bad gateway") != std::string::npos);
}

}  // namespace
}  // namespace wscp::podman
