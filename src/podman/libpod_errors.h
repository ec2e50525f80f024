#pragma once

#include <string>

#include "common/error.h"

namespace wscp::podman {

// Turns a libpod error answer (JSON {"cause","message","response"}) into an
// Error whose code follows the status (404 not found, 409 conflict, 400
// invalid), or Podman's own name/id conflict (a container name or id that
// is taken: a conflict), and `fallback` otherwise (e.g. kCheckpointFailed
// for a 500 during checkpoint). Other "already in use" errors, such as a
// host port (netavark's or Podman's "address already in use"), are not
// conflicts: the attempt failed and what it made is its own.
Error libpod_error_from_response(int status, const std::string& body, const std::string& what,
                                 ErrorCode fallback);

}  // namespace wscp::podman
