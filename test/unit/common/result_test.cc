#include "common/result.h"

#include <doctest/doctest.h>

#include <string>

namespace wscp {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return Error(ErrorCode::kInvalidArgument, "must be positive");
  return v;
}

TEST_CASE("Result carries a value or an error") {
  auto good = parse_positive(3);
  REQUIRE(good.ok());
  CHECK(*good == 3);

  auto bad = parse_positive(-1);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code() == ErrorCode::kInvalidArgument);
  CHECK(bad.error().message() == "must be positive");
}

TEST_CASE("Error::wrap keeps the code and prefixes context") {
  Error e(ErrorCode::kUnavailable, "socket closed");
  Error wrapped = e.wrap("checkpoint c1");
  CHECK(wrapped.code() == ErrorCode::kUnavailable);
  CHECK(wrapped.message() == "checkpoint c1: socket closed");
  CHECK(wrapped.describe() == "unavailable: checkpoint c1: socket closed");
}

TEST_CASE("only unavailable errors are retryable") {
  CHECK(Error(ErrorCode::kUnavailable, "").retryable());
  CHECK_FALSE(Error(ErrorCode::kIntegrity, "").retryable());
  CHECK_FALSE(Error(ErrorCode::kInvalidArgument, "").retryable());
}

TEST_CASE("Status reports success and failure") {
  Status fine = Ok{};
  CHECK(fine.ok());
  Status failed = Error(ErrorCode::kNotFound, "no such container");
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code() == ErrorCode::kNotFound);
}

}  // namespace
}  // namespace wscp
