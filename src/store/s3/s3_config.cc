#include "store/s3/s3_config.h"

namespace wscp::store::s3 {

Status S3Config::validate() const {
  auto bad = [](const std::string& why) { return Error(ErrorCode::kInvalidArgument, "S3 configuration: " + why); };
  auto st = validate_bucket_name(bucket);
  if (!st) return st.error().wrap("S3 configuration");
  if (!prefix.empty() && (prefix.front() == '/' || prefix.back() == '/')) {
    return bad("prefix '" + prefix + "' must not start or end with '/'");
  }
  if (region.empty()) return bad("region is empty");
  if (part_size < kMinPartSize || part_size > kMaxPartSize) return bad("part size must be 5 MiB to 5 GiB");
  if (concurrency == 0 || concurrency > 64) return bad("concurrency must be 1 to 64");
  if (retry.max_attempts < 1 || retry.max_attempts > 100) return bad("retry attempts must be 1 to 100");
  if (writer_id.empty() || writer_id.size() > 64 ||
      writer_id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
          std::string::npos ||
      writer_id.front() == '.') {
    return bad("writer id '" + writer_id + "' must be 1 to 64 of A-Z a-z 0-9 _ . - (not starting with '.')");
  }
  return Ok{};
}

Status validate_bucket_name(const std::string& bucket) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kInvalidArgument,
                 "bucket '" + bucket + "' is not a valid S3 bucket name: " + why +
                     " (names are 3 to 63 characters of a-z, 0-9, '.' and '-', start and end with a letter or "
                     "digit, and are not IP addresses)");
  };
  if (bucket.empty()) return bad("it is empty");
  if (bucket.size() < 3 || bucket.size() > 63) return bad("it has " + std::to_string(bucket.size()) + " characters");
  for (char c : bucket) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) {
      if (c >= 'A' && c <= 'Z') return bad("it has upper-case letters");
      return bad(std::string("it contains '") + (c >= 0x20 && c < 0x7f ? std::string(1, c) : "?") + "'");
    }
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(bucket.front()) || !alnum(bucket.back())) return bad("it must start and end with a letter or digit");
  if (bucket.find("..") != std::string::npos) return bad("it contains '..'");
  if (bucket.find(".-") != std::string::npos || bucket.find("-.") != std::string::npos) {
    return bad("it has '-' next to '.'");
  }
  int dots = 0;
  bool digits_and_dots = true;
  for (char c : bucket) {
    if (c == '.') ++dots;
    else if (c < '0' || c > '9') digits_and_dots = false;
  }
  if (digits_and_dots && dots == 3) return bad("it looks like an IP address");
  return Ok{};
}

std::uint64_t part_size_for(std::uint64_t first_part_size, int number) {
  int doublings = (number - 1) / 1000;
  std::uint64_t size = first_part_size;
  for (int i = 0; i < doublings && size < kMaxPartSize; ++i) size *= 2;
  return size < kMaxPartSize ? size : kMaxPartSize;
}

}  // namespace wscp::store::s3
