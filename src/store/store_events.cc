#include "store/store_events.h"

namespace wscp::store {

std::string_view failure_kind(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kDeadlineExceeded: return "timeout";
    case ErrorCode::kIntegrity: return "integrity";
    case ErrorCode::kPermissionDenied: return "permission";
    case ErrorCode::kNotFound: return "not_found";
    default: return "other";
  }
}

}  // namespace wscp::store
