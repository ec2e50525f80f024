#include "store/store_url.h"

#include "http/client.h"
#include "store/local_store.h"
#include "store/s3/credentials.h"
#include "store/s3/s3_client.h"
#include "store/s3/s3_store.h"

namespace wscp::store {
namespace {

Result<std::uint64_t> parse_size(const std::string& text, const std::string& what) {
  std::size_t used = 0;
  std::uint64_t value = 0;
  try {
    value = std::stoull(text, &used);
  } catch (const std::exception&) {
    return Error(ErrorCode::kInvalidArgument, what + " '" + text + "' is not a number");
  }
  std::string unit = text.substr(used);
  if (unit == "MiB" || unit == "M") return value << 20;
  if (unit == "GiB" || unit == "G") return value << 30;
  if (unit == "KiB" || unit == "K") return value << 10;
  if (unit.empty()) return value;
  return Error(ErrorCode::kInvalidArgument, what + " '" + text + "' has an unknown unit (use KiB, MiB or GiB)");
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

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
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    auto eq = pair.find('=');
    std::string name(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
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
      auto v = parse_size(value, "concurrency");
      if (!v) return v.error();
      c.concurrency = static_cast<unsigned>(*v);
    } else if (name == "attempts") {
      auto v = parse_size(value, "attempts");
      if (!v) return v.error();
      c.retry.max_attempts = static_cast<int>(*v);
    } else if (name == "ca_file") c.ca_file = value;
    else if (name == "credentials_dir") c.credentials_dir = value;
    else {
      return Error(ErrorCode::kInvalidArgument,
                   "unknown S3 URL option '" + name +
                       "' (known: region, endpoint, path_style, part_size, concurrency, attempts, ca_file, "
                       "credentials_dir)");
    }
  }
  if (!path_style_set && !c.endpoint.empty()) c.path_style = true;
  auto st = c.validate();
  if (!st) return st.error();
  return c;
}

Result<std::unique_ptr<ObjectStore>> open_object_store(std::string_view url) {
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
    return s3::make_s3_store(client);
  }
  return Error(ErrorCode::kInvalidArgument,
               "store URL '" + std::string(url) + "' has an unknown scheme: use file:///path or s3://bucket/prefix");
}

}  // namespace wscp::store
