#include "common/error.h"

namespace wscp {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kPermissionDenied: return "permission denied";
    case ErrorCode::kIntegrity: return "integrity check failed";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kDeadlineExceeded: return "deadline exceeded";
    case ErrorCode::kCheckpointFailed: return "checkpoint failed";
    case ErrorCode::kRestoreFailed: return "restore failed";
    case ErrorCode::kInternal: return "internal error";
  }
  return "unknown error";
}

Error Error::wrap(std::string_view context) const {
  std::string message(context);
  message += ": ";
  message += message_;
  return Error(code_, std::move(message));
}

std::string Error::describe() const {
  std::string text(to_string(code_));
  text += ": ";
  text += message_;
  return text;
}

}  // namespace wscp
