#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "http/client.h"

namespace wscp::agent::api {

// What a handler answers. Errors are {"error": {"code": "...", "message": "..."}}.
struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<http::Header> headers;
  // The server closes the connection after answering (set when the request's
  // body was not read).
  bool close = false;

  static Response json(int status, const nlohmann::json& body);
  static Response text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  // code: a short machine word ("not_found", "payload_too_large", ...).
  static Response error(int status, std::string_view code, std::string_view message);
  // The status and code an error's ErrorCode calls for: kInvalidArgument
  // 400, kNotFound 404, kConflict 409, kPermissionDenied 403, kUnsupported
  // 422, kUnavailable 503, kDeadlineExceeded 504, kCancelled 409, others 500.
  static Response from_error(const Error& error);
};

}  // namespace wscp::agent::api
