#pragma once

#include <chrono>
#include <string>

namespace wscp::kube {

// Kubernetes MicroTime ("2026-11-23T11:45:00.123456Z": RFC 3339 in UTC with
// microseconds), as Leases and events.k8s.io Events carry it.
// (Reading one back: parse_rfc3339 in kube/workspace_checkpoint.h.)
std::string format_micro_time(std::chrono::system_clock::time_point t);

}  // namespace wscp::kube
