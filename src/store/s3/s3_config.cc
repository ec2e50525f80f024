#include "store/s3/s3_config.h"

namespace wscp::store::s3 {

Status S3Config::validate() const {
  auto bad = [](const std::string& why) { return Error(ErrorCode::kInvalidArgument, "S3 configuration: " + why); };
  if (bucket.empty()) return bad("the bucket name is empty");
  for (char c : bucket) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || (c >= 'A' && c <= 'Z') ||
              c == '_';
    if (!ok) return bad("bucket '" + bucket + "' has characters S3 does not allow");
  }
  if (!prefix.empty() && (prefix.front() == '/' || prefix.back() == '/')) {
    return bad("prefix '" + prefix + "' must not start or end with '/'");
  }
  if (region.empty()) return bad("region is empty");
  if (part_size < kMinPartSize || part_size > kMaxPartSize) return bad("part size must be 5 MiB to 5 GiB");
  if (concurrency == 0 || concurrency > 64) return bad("concurrency must be 1 to 64");
  if (retry.max_attempts < 1) return bad("retry attempts must be at least 1");
  return Ok{};
}

std::uint64_t part_size_for(std::uint64_t first_part_size, int number) {
  int doublings = (number - 1) / 1000;
  std::uint64_t size = first_part_size;
  for (int i = 0; i < doublings && size < kMaxPartSize; ++i) size *= 2;
  return size < kMaxPartSize ? size : kMaxPartSize;
}

}  // namespace wscp::store::s3
