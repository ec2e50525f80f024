#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "http/client.h"

namespace wscp::agent::api {

// One API request as a handler sees it: the body is whole (and within the
// server's size limit) before a handler runs.
struct Request {
  std::string method;
  std::string path;                           // decoded: /v1/operations/abc
  std::map<std::string, std::string> query;   // decoded
  std::map<std::string, std::string> params;  // from the route's {name} segments
  std::vector<http::Header> headers;
  std::string body;
  std::string route;  // the matched pattern, "GET /v1/operations/{id}"

  std::optional<std::string_view> header(std::string_view name) const;
  // The body as JSON. kInvalidArgument, saying what is wrong (and where), for
  // a body that is empty, not JSON, or sent with another Content-Type.
  Result<nlohmann::json> json_body() const;
};

}  // namespace wscp::agent::api
