#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agent/api/request.h"
#include "agent/api/response.h"

namespace wscp::agent::api {

using Handler = std::function<Response(const Request&)>;

// Maps (method, path) to handlers. Patterns are literal segments and {name}
// segments, each a whole segment: "/v1/operations/{id}". API paths are
// versioned (/v1/...); /healthz and /readyz are not.
class Router {
 public:
  struct Match {
    const Handler* handler = nullptr;
    std::string route;  // "GET /v1/operations/{id}"
    std::map<std::string, std::string> params;
  };

  // Registering the same method and pattern twice is a programming error.
  void add(std::string method, std::string pattern, Handler handler);

  // `raw_path` is the path as sent (percent-encoded); each segment is decoded
  // after splitting, so an encoded '/' stays inside its segment. Where more
  // than one pattern matches, the one with more literal segments wins. No
  // match: 404 (naming the versions served when the path asks for another),
  // 405 with Allow when the path exists for other methods, 400 for a path
  // that does not decode.
  std::variant<Match, Response> match(std::string_view method, std::string_view raw_path) const;

  std::vector<std::string> routes() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
    int literals = 0;
  };
  std::vector<Route> routes_;
};

// Percent-decoding of one path segment or query component ('+' stays '+'
// in paths); nullopt for a malformed escape or a decoded NUL.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace wscp::agent::api
