#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace wscp::kube {

// Standard base64 (RFC 4648, padding optional, line breaks ignored), as
// kubeconfig "-data" fields and Secrets carry it. Errors say what is wrong.
Result<std::string> base64_decode(std::string_view text);
std::string base64_encode(std::string_view data);

}  // namespace wscp::kube
