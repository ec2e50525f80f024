#include "store/store_url.h"

#include <unistd.h>

#include "http/client.h"
#include "store/crypto.h"
#include "store/parse_number.h"
#include "store/local_store.h"
#include "store/s3/credentials.h"
#include "store/s3/s3_client.h"
#include "store/s3/s3_store.h"

namespace wscp::store {
namespace {

Result<std::uint64_t> parse_size(const std::string& text, const std::string& what) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  auto value = parse_decimal(std::string_view(text).substr(0, digits), std::uint64_t{1} << 40);
  if (!value) return Error(ErrorCode::kInvalidArgument, what + " '" + text + "' is not a number (0 to 2^40)");
  std::string unit = text.substr(digits);
  if (unit == "MiB" || unit == "M") return *value << 20;
  if (unit == "GiB" || unit == "G") return *value << 30;
  if (unit == "KiB" || unit == "K") return *value << 10;
  if (unit.empty()) return *value;
  return Error(ErrorCode::kInvalidArgument, what + " '" + text + "' has an unknown unit (use KiB, MiB or GiB)");
}

Result<std::string> percent_decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    int hi = i + 1 < s.size() ? hex(s[i + 1]) : -1;
    int lo = i + 2 < s.size() ? hex(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return Error(ErrorCode::kInvalidArgument,
                   "'" + std::string(s) + "' has a '%' that is not followed by two hex digits (write %25 for '%')");
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// A writer id from the host name.
std::string writer_from_hostname() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "wscp";
  return writer_id_from(host);
}

}  // namespace

std::string writer_id_from(std::string_view name) {
  if (name.empty()) return "wscp";
  std::string out;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.';
    out.push_back(ok ? c : '-');
  }
  // Cut names differ by a digest of the whole name (node names run to 253).
  if (out.size() > 64) out = out.substr(0, 47) + "-" + sha256_hex(name).substr(0, 16);
  if (out.front() == '.') out.front() = '-';
  return out;
}

Result<s3::S3Config> parse_s3_url(std::string_view url) {
  if (url.rfind("s3://", 0) != 0) return Error(ErrorCode::kInvalidArgument, "not an s3:// URL: " + std::string(url));
  std::string_view rest = url.substr(5);
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  s3::S3Config c;
  auto slash = rest.find('/');
  c.bucket = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) c.prefix = std::string(rest.substr(slash + 1));
  while (!c.prefix.empty() && c.prefix.back() == '/') c.prefix.pop_back();
  bool path_style_set = false;
  bool writer_set = false;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    auto eq = pair.find('=');
    std::string name(pair.substr(0, eq));
    std::string value;
    if (eq != std::string_view::npos) {
      auto decoded = percent_decode(pair.substr(eq + 1));
      if (!decoded) return decoded.error().wrap("S3 URL option " + name);
      value = std::move(*decoded);
    }
    if (name == "region") c.region = value;
    else if (name == "endpoint") c.endpoint = value;
    else if (name == "path_style") {
      c.path_style = value == "true" || value == "1";
      path_style_set = true;
    } else if (name == "part_size") {
      auto v = parse_size(value, "part_size");
      if (!v) return v.error();
      c.part_size = *v;
    } else if (name == "concurrency") {
      auto v = parse_decimal(value, 1000);
      if (!v) return Error(ErrorCode::kInvalidArgument, "S3 URL option concurrency '" + value + "' is not 1 to 64");
      c.concurrency = static_cast<unsigned>(*v);
    } else if (name == "attempts") {
      auto v = parse_decimal(value, 1000);
      if (!v) return Error(ErrorCode::kInvalidArgument, "S3 URL option attempts '" + value + "' is not 1 to 100");
      c.retry.max_attempts = static_cast<int>(*v);
    } else if (name == "writer") {
      c.writer_id = value;
      writer_set = true;
    } else if (name == "ca_file") c.ca_file = value;
    else if (name == "credentials_dir") c.credentials_dir = value;
    else {
      return Error(ErrorCode::kInvalidArgument,
                   "unknown S3 URL option '" + name +
                       "' (known: region, endpoint, path_style, part_size, concurrency, attempts, writer, "
                       "ca_file, credentials_dir)");
    }
  }
  if (!path_style_set && !c.endpoint.empty()) c.path_style = true;
  if (!writer_set) c.writer_id = writer_from_hostname();
  auto st = c.validate();
  if (!st) return st.error();
  return c;
}

Result<std::unique_ptr<ObjectStore>> open_object_store(std::string_view url, StoreEvents events) {
  if (url.rfind("file://", 0) == 0) {
    std::string path(url.substr(7));
    if (path.empty() || path.front() != '/') {
      return Error(ErrorCode::kInvalidArgument, "a file:// store needs an absolute path: file:///var/lib/wscp/store");
    }
    return make_local_store(path);
  }
  if (url.rfind("s3://", 0) == 0) {
    auto config = parse_s3_url(url);
    if (!config) return config.error();
    auto creds = s3::resolve_credentials(config->credentials_dir);
    if (!creds) return creds.error();
    http::ClientConfig hc;
    hc.ca_file = config->ca_file;
    auto client = std::make_shared<s3::S3Client>(*config, *creds, std::shared_ptr<http::Client>(http::make_curl_client(hc)));
    client->set_events(std::move(events));
    return s3::make_s3_store(client);
  }
  return Error(ErrorCode::kInvalidArgument,
               "store URL '" + std::string(url) + "' has an unknown scheme: use file:///path or s3://bucket/prefix");
}

}  // namespace wscp::store
