#include "agent/api/response.h"

namespace wscp::agent::api {

Response Response::json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

Response Response::error(int status, std::string_view code, std::string_view message) {
  return json(status, {{"error", {{"code", std::string(code)}, {"message", std::string(message)}}}});
}

Response Response::from_error(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kInvalidArgument: return Response::error(400, "invalid_argument", error.message());
    case ErrorCode::kNotFound: return Response::error(404, "not_found", error.message());
    case ErrorCode::kConflict: return Response::error(409, "conflict", error.message());
    case ErrorCode::kPermissionDenied: return Response::error(403, "permission_denied", error.message());
    case ErrorCode::kUnsupported: return Response::error(422, "unsupported", error.message());
    case ErrorCode::kUnavailable: return Response::error(503, "unavailable", error.message());
    case ErrorCode::kDeadlineExceeded: return Response::error(504, "deadline_exceeded", error.message());
    case ErrorCode::kCancelled: return Response::error(409, "cancelled", error.message());
    case ErrorCode::kIntegrity: return Response::error(500, "integrity", error.message());
    case ErrorCode::kCheckpointFailed: return Response::error(500, "checkpoint_failed", error.message());
    case ErrorCode::kRestoreFailed: return Response::error(500, "restore_failed", error.message());
    case ErrorCode::kInternal: break;
  }
  return Response::error(500, "internal", error.message());
}

}  // namespace wscp::agent::api
