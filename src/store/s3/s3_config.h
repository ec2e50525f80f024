#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/result.h"

namespace wscp::store::s3 {

struct RetryPolicy {
  int max_attempts = 8;                                // first try included
  std::chrono::milliseconds base_delay{200};           // doubled each retry, with full jitter
  std::chrono::milliseconds max_delay{10'000};
};

struct S3Config {
  std::string bucket;
  std::string prefix;               // no leading or trailing "/"; may be empty
  std::string region = "us-east-1";
  std::string endpoint;             // e.g. http://127.0.0.1:9000; empty: AWS (https://s3.<region>.amazonaws.com)
  bool path_style = false;          // /bucket/key instead of bucket.host/key (MinIO and most non-AWS servers)
  std::string ca_file;              // trust this CA bundle for TLS
  std::string credentials_dir;      // a mounted Secret; empty: environment / credentials file
  std::uint64_t part_size = 16ull << 20;  // first part size; grows so any stream fits in 10,000 parts
  unsigned concurrency = 4;         // parts (or ranges) in flight at once
  RetryPolicy retry;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds stall_timeout{30'000};  // no byte moved for this long: the attempt failed
  bool sign_payload = true;         // SHA-256 of every part in the signature (else UNSIGNED-PAYLOAD)
  // Who writes through this client (the node): its multipart uploads carry
  // it, and sweep_incomplete() touches only its own. 1..64 of [A-Za-z0-9_.-].
  std::string writer_id = "wscp";

  Status validate() const;
};

// S3's rules for bucket names (3-63 of a-z 0-9 . -, starting and ending with
// a letter or digit, no "..", not an IP address): a name that breaks them is
// kInvalidArgument, saying which rule.
Status validate_bucket_name(const std::string& bucket);

// S3's limits on multipart uploads.
inline constexpr std::uint64_t kMinPartSize = 5ull << 20;
inline constexpr std::uint64_t kMaxPartSize = 5ull << 30;
inline constexpr int kMaxParts = 10'000;

// The size of part `number` (1-based): the first 1,000 parts have
// `first_part_size`, and it doubles every 1,000 parts (capped at 5 GiB), so
// 10,000 parts of a 16 MiB start hold ~16 TiB, beyond S3's 5 TiB object limit.
std::uint64_t part_size_for(std::uint64_t first_part_size, int number);

}  // namespace wscp::store::s3
