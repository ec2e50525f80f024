#include "podman/project.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace wscp::podman {

std::string service_of(const ContainerInfo& container) {
  auto it = container.labels.find(kComposeServiceLabel);
  return it == container.labels.end() || it->second.empty() ? container.name : it->second;
}

Status validate_plain_name(const std::string& what, const std::string& name) {
  bool plain = !name.empty() && name.size() <= 128 && name != "." && name != ".." && name.front() != '.' &&
               std::all_of(name.begin(), name.end(), [](char c) {
                 return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
               });
  if (plain) return Ok{};
  return Error(ErrorCode::kInvalidArgument,
               what + " '" + name + "' is not a plain name (letters, digits, '-', '_', '.'; not starting with '.')");
}

Status check_project(const std::string& project, const std::vector<ContainerInfo>& containers,
                     const std::string& workspace_label) {
  if (auto s = validate_plain_name("project", project); !s.ok()) return s.error();
  std::set<std::string> seen;
  std::vector<std::string> primaries;
  for (const auto& c : containers) {
    const std::string service = service_of(c);
    if (auto v = validate_plain_name("service", service); !v.ok()) return v.error();
    if (!seen.insert(service).second) {
      return Error(ErrorCode::kInvalidArgument, "project " + project + " has two containers for service '" + service +
                                                    "'; scale it to one before checkpointing");
    }
    if (c.labels.count(workspace_label)) primaries.push_back(service);
  }
  if (primaries.size() != 1) {
    return Error(ErrorCode::kInvalidArgument,
                 "project " + project + " must have exactly one service labelled " + workspace_label +
                     " (the devcontainer), found " + std::to_string(primaries.size()));
  }
  return Ok{};
}

}  // namespace wscp::podman
