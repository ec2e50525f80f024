#include "agent/api/request.h"

#include <strings.h>

namespace wscp::agent::api {

std::optional<std::string_view> Request::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name.size() == name.size() && strncasecmp(h.name.data(), name.data(), name.size()) == 0) {
      return std::string_view(h.value);
    }
  }
  return std::nullopt;
}

Result<nlohmann::json> Request::json_body() const {
  if (auto type = header("Content-Type")) {
    std::string_view media = type->substr(0, type->find(';'));
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    if (media.size() != 16 || strncasecmp(media.data(), "application/json", 16) != 0) {
      return Error(ErrorCode::kInvalidArgument,
                   "the body must be JSON sent with Content-Type: application/json, got " + std::string(*type));
    }
  }
  if (body.empty()) return Error(ErrorCode::kInvalidArgument, "the request needs a JSON body");
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    return Error(ErrorCode::kInvalidArgument, std::string("the body is not valid JSON: ") + e.what());
  }
}

}  // namespace wscp::agent::api
