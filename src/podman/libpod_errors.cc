#include "podman/libpod_errors.h"

#include <array>
#include <regex>
#include <string_view>

#include <nlohmann/json.hpp>

namespace wscp::podman {
namespace {

// The root causes libpod reports (its "cause" field) when a container's name
// or id is taken: containers/storage's ErrDuplicateName and ErrDuplicateID,
// and libpod's own ErrCtrExists.
constexpr std::array<std::string_view, 3> kConflictCauses{
    "that name is already in use", "that ID is already in use", "container already exists"};

// The same, in the message of a libpod answer without a cause:
// `the container name "web" is already in use by 1234...`.
bool names_a_taken_container(const std::string& message) {
  static const std::regex taken(R"(the container name "[^"]+" is already in use by )");
  return std::regex_search(message, taken);
}

}  // namespace

Error libpod_error_from_response(int status, const std::string& body, const std::string& what,
                                 ErrorCode fallback) {
  std::string message = body;
  std::string cause;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (auto it = j.find("message"); it != j.end() && it->is_string()) message = it->get<std::string>();
    if (auto it = j.find("cause"); it != j.end() && it->is_string()) cause = it->get<std::string>();
  }
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();

  bool taken = false;
  for (auto c : kConflictCauses) taken = taken || cause == c;
  taken = taken || (cause.empty() && names_a_taken_container(message));

  ErrorCode code = fallback;
  if (status == 404) code = ErrorCode::kNotFound;
  else if (status == 409 || taken) code = ErrorCode::kConflict;
  else if (status == 400) code = ErrorCode::kInvalidArgument;
  return Error(code, what + ": libpod answered HTTP " + std::to_string(status) + ": " + message);
}

}  // namespace wscp::podman
