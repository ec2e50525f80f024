#include "podman/libpod_errors.h"

#include <nlohmann/json.hpp>

namespace wscp::podman {

Error libpod_error_from_response(int status, const std::string& body, const std::string& what,
                                 ErrorCode fallback) {
  std::string message = body;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    message = j["message"].get<std::string>();
  }
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();

  ErrorCode code = fallback;
  if (status == 404) code = ErrorCode::kNotFound;
  else if (status == 409 || message.find("already in use") != std::string::npos) code = ErrorCode::kConflict;
  else if (status == 400) code = ErrorCode::kInvalidArgument;
  return Error(code, what + ": libpod answered HTTP " + std::to_string(status) + ": " + message);
}

}  // namespace wscp::podman
