#include "agent/api/router.h"

#include <cassert>
#include <set>

namespace wscp::agent::api {
namespace {

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return out;
  path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool is_param(std::string_view s) { return s.size() > 2 && s.front() == '{' && s.back() == '}'; }

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0') return std::nullopt;
    out += c;
    i += 2;
  }
  return out;
}

void Router::add(std::string method, std::string pattern, Handler handler) {
  Route r;
  r.method = std::move(method);
  for (auto s : split(pattern)) {
    r.segments.emplace_back(s);
    if (!is_param(s)) ++r.literals;
  }
  assert(!r.segments.empty() && "a route pattern starts with /");
  for (const auto& existing : routes_) {
    assert(!(existing.method == r.method && existing.pattern == pattern) && "route registered twice");
    (void)existing;
  }
  r.pattern = std::move(pattern);
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

std::variant<Router::Match, Response> Router::match(std::string_view method, std::string_view raw_path) const {
  std::vector<std::string> segments;
  for (auto s : split(raw_path)) {
    auto decoded = percent_decode(s);
    if (!decoded) return Response::error(400, "invalid_path", "the path has a malformed %-escape: " + std::string(raw_path));
    segments.push_back(std::move(*decoded));
  }
  const Route* best = nullptr;
  std::set<std::string> allowed;
  std::map<std::string, std::string> best_params;
  for (const auto& r : routes_) {
    if (r.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    for (std::size_t i = 0; i < segments.size() && ok; ++i) {
      if (is_param(r.segments[i])) {
        if (segments[i].empty()) ok = false;
        else params[r.segments[i].substr(1, r.segments[i].size() - 2)] = segments[i];
      } else {
        ok = r.segments[i] == segments[i];
      }
    }
    if (!ok) continue;
    if (r.method != method) {
      allowed.insert(r.method);
      continue;
    }
    if (!best || r.literals > best->literals) {
      best = &r;
      best_params = std::move(params);
    }
  }
  if (best) return Match{&best->handler, best->method + " " + best->pattern, std::move(best_params)};
  if (!allowed.empty()) {
    std::string allow;
    for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
    Response r = Response::error(405, "method_not_allowed",
                                 std::string(method) + " is not allowed on " + std::string(raw_path) + " (allowed: " + allow + ")");
    r.headers.push_back({"Allow", allow});
    return r;
  }
  // A versioned path this agent does not serve says which versions it does.
  std::set<std::string> versions;
  for (const auto& r : routes_) {
    if (r.segments.size() > 1 && r.segments[0].size() > 1 && r.segments[0][0] == 'v') versions.insert(r.segments[0]);
  }
  if (!segments.empty() && segments[0].size() > 1 && segments[0][0] == 'v' && !versions.count(segments[0]) &&
      segments[0].find_first_not_of("0123456789", 1) == std::string::npos) {
    std::string served;
    for (const auto& v : versions) served += (served.empty() ? "" : ", ") + v;
    return Response::error(404, "unknown_api_version",
                           "this agent does not serve API version " + segments[0] + " (it serves " + served + ")");
  }
  return Response::error(404, "not_found", "no such API path: " + std::string(method) + " " + std::string(raw_path));
}

std::vector<std::string> Router::routes() const {
  std::vector<std::string> out;
  for (const auto& r : routes_) out.push_back(r.method + " " + r.pattern);
  return out;
}

}  // namespace wscp::agent::api
