#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "common/error.h"
#include "http/client.h"

namespace wscp::kube {

// The API server's error answers (a metav1.Status body) as Errors:
//   404, 410       kNotFound          (410: reason Expired or Gone, see is_gone)
//   409            kConflict          (reason AlreadyExists or Conflict)
//   401, 403       kPermissionDenied
//   400, 405, 406, 413, 415, 422  kInvalidArgument
//   429, 5xx       kUnavailable
// The message is "<what>: HTTP <code> <Reason>: <server message>[; hint]", so
// the reason survives Error::wrap() and can be read back with api_reason().
Error api_error(const http::Response& response, std::string_view what);
// The same from a Status object (the ERROR event of a watch).
Error api_error_from_status(const nlohmann::json& status, std::string_view what);

ErrorCode error_code_for_status(int http_status);

// The server's reason ("NotFound", "AlreadyExists", "Conflict", "Expired",
// "Forbidden", ...) and HTTP status of an error made above; "" and 0 for other
// errors (transport failures, local validation).
std::string api_reason(const Error& error);
int api_status(const Error& error);

inline bool is_not_found(const Error& e) { return api_status(e) == 404; }
inline bool is_already_exists(const Error& e) { return api_reason(e) == "AlreadyExists"; }
// An optimistic-concurrency failure: the object changed since it was read.
inline bool is_conflict(const Error& e) { return api_status(e) == 409 && api_reason(e) != "AlreadyExists"; }
// The asked-for resourceVersion (or continue token) is too old: list again.
inline bool is_gone(const Error& e) {
  return api_status(e) == 410 || api_reason(e) == "Expired" || api_reason(e) == "Gone";
}
inline bool is_unauthorized(const Error& e) { return api_status(e) == 401; }
inline bool is_forbidden(const Error& e) { return api_status(e) == 403; }

}  // namespace wscp::kube
