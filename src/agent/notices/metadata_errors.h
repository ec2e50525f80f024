#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace wscp::agent::notices {

// An HTTP status a metadata service should not have answered: 5xx is
// worth retrying (kUnavailable), 401/403/400 mean the request was refused
// (kPermissionDenied: a missing header or token), anything else is an
// unexpected answer (kInternal).
inline Error unexpected_status(std::string_view what, int status, std::string_view body) {
  ErrorCode code = ErrorCode::kInternal;
  if (status >= 500) code = ErrorCode::kUnavailable;
  else if (status == 400 || status == 401 || status == 403) code = ErrorCode::kPermissionDenied;
  std::string message = std::string(what) + ": HTTP " + std::to_string(status);
  if (!body.empty()) message += ": " + std::string(body.substr(0, 200));
  return Error(code, message);
}

// A 2xx answer whose body is not what the provider documents: never a notice.
inline Error malformed(std::string_view what, std::string_view problem, std::string_view body) {
  return Error(ErrorCode::kInternal,
               std::string(what) + ": malformed answer (" + std::string(problem) + "): " + std::string(body.substr(0, 200)));
}

}  // namespace wscp::agent::notices
