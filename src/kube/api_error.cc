#include "kube/api_error.h"

#include <cctype>

namespace wscp::kube {
namespace {

constexpr std::size_t kMaxBodyInMessage = 512;

std::string default_reason(int code) {
  switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "NotAcceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "RequestEntityTooLarge";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 502: return "BadGateway";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return "Unknown";
  }
}

// What the reader should do about it, when the server's message does not say.
std::string hint(int code, const std::string& reason, const std::string& message) {
  if (code == 401) {
    return "; the API server refused the credentials: check the token (or token file) or the client "
           "certificate of the kubeconfig or service account";
  }
  if (code == 403) return "; check the RBAC role bound to this user or service account";
  // The first when the API group is served but not the resource, the second when not even the group is.
  if (code == 404 && (message == "the server could not find the requested resource" ||
                      message == "404 page not found")) {
    return "; the API server does not serve this resource: is its CRD installed (crds/)?";
  }
  if (code == 410 || reason == "Expired" || reason == "Gone") return "; the resource version is too old: list again";
  if (code == 429) return "; the API server is throttling requests: retry later";
  return {};
}

Error make_error(int code, std::string reason, std::string message, std::string_view what) {
  if (reason.empty()) reason = default_reason(code);
  std::string text(what);
  text += ": HTTP " + std::to_string(code) + " " + reason + ": " + message + hint(code, reason, message);
  return Error(error_code_for_status(code), std::move(text));
}

std::string printable(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, kMaxBodyInMessage)) {
    out.push_back(std::isprint(static_cast<unsigned char>(c)) ? c : ' ');
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (body.size() > kMaxBodyInMessage) out += "...";
  return out;
}

}  // namespace

ErrorCode error_code_for_status(int s) {
  switch (s) {
    case 404:
    case 410:
      return ErrorCode::kNotFound;
    case 409:
      return ErrorCode::kConflict;
    case 401:
    case 403:
      return ErrorCode::kPermissionDenied;
    case 400:
    case 405:
    case 406:
    case 413:
    case 415:
    case 422:
      return ErrorCode::kInvalidArgument;
    case 429:
      return ErrorCode::kUnavailable;
    default:
      return s >= 500 ? ErrorCode::kUnavailable : ErrorCode::kInternal;
  }
}

Error api_error(const http::Response& response, std::string_view what) {
  auto status = nlohmann::json::parse(response.body, nullptr, false);
  if (status.is_object() && status.value("kind", "") == "Status") {
    // The HTTP status is what happened; the body's code normally agrees.
    nlohmann::json s = status;
    s["code"] = response.status;
    return api_error_from_status(s, what);
  }
  std::string message = response.body.empty() ? "(no body)" : printable(response.body);
  return make_error(response.status, "", std::move(message), what);
}

Error api_error_from_status(const nlohmann::json& status, std::string_view what) {
  int code = 500;
  std::string reason;
  std::string message;
  if (status.is_object()) {
    if (auto c = status.find("code"); c != status.end() && c->is_number_integer()) code = c->get<int>();
    if (auto r = status.find("reason"); r != status.end() && r->is_string()) reason = r->get<std::string>();
    if (auto m = status.find("message"); m != status.end() && m->is_string()) message = m->get<std::string>();
  }
  if (message.empty()) message = printable(status.dump());
  return make_error(code, std::move(reason), std::move(message), what);
}

namespace {

// Finds the first "HTTP <3 digits> <Reason>:" in the message.
bool parse_marker(const std::string& m, int& code, std::string& reason) {
  for (std::size_t at = m.find("HTTP "); at != std::string::npos; at = m.find("HTTP ", at + 1)) {
    std::size_t p = at + 5;
    if (p + 4 > m.size()) return false;
    if (!std::isdigit(static_cast<unsigned char>(m[p])) || !std::isdigit(static_cast<unsigned char>(m[p + 1])) ||
        !std::isdigit(static_cast<unsigned char>(m[p + 2])) || m[p + 3] != ' ') {
      continue;
    }
    std::size_t r = p + 4;
    std::size_t e = r;
    while (e < m.size() && std::isalpha(static_cast<unsigned char>(m[e]))) ++e;
    if (e == r || e >= m.size() || m[e] != ':') continue;
    code = std::stoi(m.substr(p, 3));
    reason = m.substr(r, e - r);
    return true;
  }
  return false;
}

}  // namespace

std::string api_reason(const Error& error) {
  int code = 0;
  std::string reason;
  return parse_marker(error.message(), code, reason) ? reason : std::string();
}

int api_status(const Error& error) {
  int code = 0;
  std::string reason;
  return parse_marker(error.message(), code, reason) ? code : 0;
}

}  // namespace wscp::kube
