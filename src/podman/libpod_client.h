#pragma once

#include <memory>
#include <string>

#include "http/client.h"
#include "podman/podman_client.h"

namespace wscp::podman {

// PodmanClient over the libpod REST API (prefix /v4.0.0/libpod, served by
// Podman 4 and 5) on the node's unix socket.
std::unique_ptr<PodmanClient> make_libpod_client(std::string socket_path);

// For tests and other transports: any http::Client whose requests reach
// libpod (base_url like "http://d").
std::unique_ptr<PodmanClient> make_libpod_client(std::unique_ptr<http::Client> http,
                                                 std::string description);

}  // namespace wscp::podman
