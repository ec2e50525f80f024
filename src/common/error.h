#pragma once

#include <string>
#include <string_view>

namespace wscp {

// What went wrong, in terms a caller can act on: the code says whether a
// retry can help, the message says what was wrong and what to do.
enum class ErrorCode {
  kInvalidArgument,  // the request or input is malformed: fix it, do not retry
  kNotFound,         // the named thing does not exist
  kConflict,         // the name or resource is already in use
  kUnavailable,      // a peer could not be reached or timed out: retry later
  kUnsupported,      // the environment lacks a capability (e.g. CRIU)
  kPermissionDenied, // credentials or authorisation were refused
  kIntegrity,        // data failed verification: never use it
  kCancelled,        // the caller cancelled the operation
  kDeadlineExceeded, // the operation's deadline passed
  kCheckpointFailed, // the runtime could not checkpoint
  kRestoreFailed,    // the runtime could not restore
  kInternal,         // a bug or an unexpected answer
};

std::string_view to_string(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Only transient failures are worth retrying automatically.
  bool retryable() const { return code_ == ErrorCode::kUnavailable; }

  // Prefixes context ("checkpoint c1: ") while keeping the code.
  Error wrap(std::string_view context) const;

  std::string describe() const;

 private:
  ErrorCode code_;
  std::string message_;
};

}  // namespace wscp
