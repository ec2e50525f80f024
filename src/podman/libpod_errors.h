#pragma once

#include <string>

#include "common/error.h"

namespace wscp::podman {

// Turns a libpod error answer (JSON {"cause","message","response"}) into an
// Error whose code follows the status (404 not found, 409 conflict, 400
// invalid) or the message (a name "already in use" is a conflict), and
// `fallback` otherwise (e.g. kCheckpointFailed for a 500 during checkpoint).
Error libpod_error_from_response(int status, const std::string& body, const std::string& what,
                                 ErrorCode fallback);

}  // namespace wscp::podman
