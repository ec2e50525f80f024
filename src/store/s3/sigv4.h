#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "store/s3/credentials.h"

namespace wscp::store::s3 {

// AWS Signature Version 4 as S3 applies it: the path is encoded once and
// never normalised (unlike the generic SigV4 suite), the payload hash is
// always signed through x-amz-content-sha256.
struct SigningRequest {
  std::string method;
  std::string encoded_path;  // already URI-encoded, "/" kept: /bucket/a%24b
  std::vector<std::pair<std::string, std::string>> query;  // raw (not encoded) names and values
  std::vector<std::pair<std::string, std::string>> headers;  // must include host, x-amz-date, x-amz-content-sha256
  std::string payload_sha256;  // hex, or UNSIGNED-PAYLOAD
};

struct SigningScope {
  std::string amz_date;  // 20130524T000000Z
  std::string region;
  std::string service = "s3";
  std::string date() const { return amz_date.substr(0, 8); }
  std::string credential_scope() const { return date() + "/" + region + "/" + service + "/aws4_request"; }
};

std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query);
std::string canonical_request(const SigningRequest& request, std::string* signed_headers = nullptr);
std::string string_to_sign(const SigningRequest& request, const SigningScope& scope);
std::string signature(const SigningRequest& request, const SigningScope& scope, const std::string& secret_key);
// The value of the Authorization header.
std::string authorization(const SigningRequest& request, const SigningScope& scope, const Credentials& credentials);

// 20130524T000000Z
std::string amz_date(std::chrono::system_clock::time_point t);

// S3's encoding of an object key into a path: every byte but unreserved
// characters and "/" percent-encoded.
std::string encode_key_path(const std::string& key);

}  // namespace wscp::store::s3
