#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "podman/types.h"

namespace wscp::podman {

inline constexpr const char* kComposeProjectLabel = "com.docker.compose.project";
inline constexpr const char* kComposeServiceLabel = "com.docker.compose.service";

// A compose service's name: its service label, or else the container's name.
std::string service_of(const ContainerInfo& container);

// Refuses, before anything is frozen, a compose project that cannot move as
// one workspace: two containers for one service (scale it to one first),
// service names that are not plain names, and anything but exactly one
// container carrying the workspace label (the devcontainer service).
Status check_project(const std::string& project, const std::vector<ContainerInfo>& containers,
                     const std::string& workspace_label);

// Plain names: letters, digits, '-', '_', '.'; not starting with '.'.
Status validate_plain_name(const std::string& what, const std::string& name);

}  // namespace wscp::podman
