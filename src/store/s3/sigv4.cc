#include "store/s3/sigv4.h"

#include <algorithm>
#include <ctime>

#include "common/time_format.h"

#include "http/client.h"
#include "store/crypto.h"

namespace wscp::store::s3 {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Trims and collapses runs of spaces, as SigV4 canonical headers require.
std::string canonical_value(const std::string& v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::span<const std::uint8_t> as_u8(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  for (const auto& [k, v] : query) encoded.emplace_back(http::url_encode(k), http::url_encode(v));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [k, v] : encoded) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

std::string canonical_request(const SigningRequest& request, std::string* signed_headers) {
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [k, v] : request.headers) headers.emplace_back(lower(k), canonical_value(v));
  std::sort(headers.begin(), headers.end());
  std::string canonical_headers;
  std::string names;
  for (const auto& [k, v] : headers) {
    canonical_headers += k + ":" + v + "\n";
    if (!names.empty()) names += ';';
    names += k;
  }
  if (signed_headers != nullptr) *signed_headers = names;
  return request.method + "\n" + (request.encoded_path.empty() ? "/" : request.encoded_path) + "\n" +
         canonical_query(request.query) + "\n" + canonical_headers + "\n" + names + "\n" + request.payload_sha256;
}

std::string string_to_sign(const SigningRequest& request, const SigningScope& scope) {
  return "AWS4-HMAC-SHA256\n" + scope.amz_date + "\n" + scope.credential_scope() + "\n" +
         sha256_hex(canonical_request(request));
}

std::string signature(const SigningRequest& request, const SigningScope& scope, const std::string& secret_key) {
  auto k_date = hmac_sha256(as_u8("AWS4" + secret_key), scope.date());
  auto k_region = hmac_sha256(k_date, scope.region);
  auto k_service = hmac_sha256(k_region, scope.service);
  auto k_signing = hmac_sha256(k_service, "aws4_request");
  return to_hex(hmac_sha256(k_signing, string_to_sign(request, scope)));
}

std::string authorization(const SigningRequest& request, const SigningScope& scope, const Credentials& credentials) {
  std::string names;
  canonical_request(request, &names);
  return "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope.credential_scope() +
         ",SignedHeaders=" + names + ",Signature=" + signature(request, scope, credentials.secret_access_key);
}

std::string amz_date(std::chrono::system_clock::time_point t) { return utc_basic(t); }

std::string encode_key_path(const std::string& key) {
  std::string out;
  std::size_t start = 0;
  for (;;) {
    std::size_t slash = key.find('/', start);
    out += http::url_encode(std::string_view(key).substr(start, slash == std::string::npos ? slash : slash - start));
    if (slash == std::string::npos) return out;
    out += '/';
    start = slash + 1;
  }
}

}  // namespace wscp::store::s3
