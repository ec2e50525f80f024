#pragma once

#include <functional>
#include <string_view>

#include "common/error.h"

namespace wscp::store {

// What a store's client reports as it works, for metrics: a request about
// to be tried again, and a request that failed for good, each with the kind
// of failure (failure_kind). Called from the threads that send the
// requests; either may be empty.
struct StoreEvents {
  std::function<void(std::string_view kind)> retry;
  std::function<void(std::string_view kind)> failure;
};

// unavailable|timeout|integrity|permission|not_found|other, from the
// error's code ("throttled" is told by the S3 client from the answer).
std::string_view failure_kind(const Error& error);

}  // namespace wscp::store
