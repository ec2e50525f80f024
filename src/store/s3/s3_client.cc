#include "store/s3/s3_client.h"

#include <cctype>
#include <cstring>
#include <random>
#include <thread>

#include "store/crypto.h"
#include "store/parse_number.h"
#include "store/s3/http_time.h"
#include "store/s3/sigv4.h"
#include "store/s3/xml.h"

namespace wscp::store::s3 {
namespace {

constexpr std::string_view kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

class ViewSource : public ByteSource {
 public:
  explicit ViewSource(std::string_view data) : data_(data) {}
  Result<std::size_t> read(std::span<std::byte> buffer) override {
    std::size_t n = std::min(buffer.size(), data_.size());
    std::memcpy(buffer.data(), data_.data(), n);
    data_.remove_prefix(n);
    return n;
  }

 private:
  std::string_view data_;
};

// 499: MinIO's "ClientDisconnected", answered to requests cut off by a restart.
bool retryable_status(int status) { return status >= 500 || status == 429 || status == 408 || status == 499; }

// 4xx answers that mean "the transfer was interrupted", not "the request is wrong".
bool retryable_code(const std::string& code) {
  return code == "RequestTimeout" || code == "IncompleteBody" || code == "SlowDown" ||
         code == "InternalError" || code == "ServiceUnavailable" || code == "XMinioServerNotInitialized" ||
         code == "XMinioBackendDown";  // 400 from a MinIO whose drives are going away (shutdown)
}

void interruptible_sleep(std::chrono::milliseconds d, const CancelToken* cancel) {
  auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
    if (cancel && cancel->cancelled()) return;
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(50),
        std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now())));
  }
}

}  // namespace

S3Client::S3Client(S3Config config, Credentials credentials, std::shared_ptr<http::Client> http, Clock clock,
                   Sleep sleep)
    : config_(std::move(config)),
      credentials_(std::move(credentials)),
      http_(std::move(http)),
      clock_(std::move(clock)),
      sleep_(std::move(sleep)) {}

std::string S3Client::describe() const {
  return "s3://" + config_.bucket + (config_.prefix.empty() ? "" : "/" + config_.prefix);
}

std::pair<std::string, std::string> S3Client::url_and_host(const S3Call& call) const {
  std::string scheme = "https";
  std::string host = "s3." + config_.region + ".amazonaws.com";
  if (!config_.endpoint.empty()) {
    auto sep = config_.endpoint.find("://");
    scheme = sep == std::string::npos ? "https" : config_.endpoint.substr(0, sep);
    host = sep == std::string::npos ? config_.endpoint : config_.endpoint.substr(sep + 3);
    while (!host.empty() && host.back() == '/') host.pop_back();
  }
  std::string path;
  if (config_.path_style) {
    path = "/" + config_.bucket + "/" + encode_key_path(call.key);
  } else {
    host = config_.bucket + "." + host;
    path = "/" + encode_key_path(call.key);
  }
  return {scheme + "://" + host + path, host};
}

std::chrono::milliseconds S3Client::backoff(int attempt) {
  // Full jitter: a random delay up to base * 2^attempt, capped.
  auto cap = config_.retry.base_delay.count() << std::min(attempt, 16);
  cap = std::min<long long>(cap, config_.retry.max_delay.count());
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<long long> dist(cap / 4, cap);
  return std::chrono::milliseconds(dist(rng));
}

Result<http::Response> S3Client::send_once(const S3Call& call, const CancelToken* cancel) {
  auto [url, host] = url_and_host(call);
  std::string path = config_.path_style ? "/" + config_.bucket + "/" + encode_key_path(call.key)
                                        : "/" + encode_key_path(call.key);
  std::string payload_hash(kEmptySha256);
  if (call.body != nullptr && !call.body->empty()) {
    payload_hash = config_.sign_payload ? sha256_hex(*call.body) : "UNSIGNED-PAYLOAD";
  }
  if (call.body_stream != nullptr) payload_hash = "UNSIGNED-PAYLOAD";
  std::string date = amz_date(clock_());
  SigningRequest sr;
  sr.method = call.method;
  sr.encoded_path = path;
  sr.query = call.query;
  sr.payload_sha256 = payload_hash;
  sr.headers = {{"host", host}, {"x-amz-date", date}, {"x-amz-content-sha256", payload_hash}};
  if (!credentials_.session_token.empty()) sr.headers.emplace_back("x-amz-security-token", credentials_.session_token);
  for (const auto& h : call.headers) sr.headers.emplace_back(h.name, h.value);

  http::Request req;
  req.method = call.method;
  std::string query = canonical_query(call.query);
  req.url = url + (query.empty() ? "" : "?" + query);
  for (const auto& [k, v] : sr.headers) req.headers.push_back({k, v});
  req.headers.push_back({"Authorization", authorization(sr, SigningScope{date, config_.region, "s3"}, credentials_)});
  // The body streams from the caller's buffer: a part is never copied.
  ViewSource body_view(call.body != nullptr ? std::string_view(*call.body) : std::string_view());
  if (call.body != nullptr && !call.body->empty()) {
    req.body_stream = &body_view;
    req.body_size = call.body->size();
  } else if (call.body_stream != nullptr) {
    req.body_stream = call.body_stream;
    req.body_size = call.body_stream_size;
  }
  req.connect_timeout = config_.connect_timeout;
  req.stall_timeout = config_.stall_timeout;
  req.cancel = cancel;
  if (call.sink) call.sink->data.clear();
  return http_->send(req, call.sink);
}

Result<http::Response> S3Client::call(const S3Call& call, const CancelToken* cancel) {
  std::optional<Error> last;
  // A stream cannot be rewound: one attempt.
  const int attempts = call.body_stream != nullptr ? 1 : config_.retry.max_attempts;
  std::string_view last_kind = "other";
  // Answers the caller expects are not failures: an object that does not
  // exist (yet), a conditional write that lost (the lock and claim
  // documents), a cancellation.
  auto failed = [&](Error e) {
    if (e.code() != ErrorCode::kNotFound && e.code() != ErrorCode::kConflict && e.code() != ErrorCode::kCancelled)
      report(events_.failure, failure_kind(e));
    return e;
  };
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0) {
      auto delay = backoff(attempt - 1);
      if (sleep_) sleep_(delay);
      else interruptible_sleep(delay, cancel);
    }
    if (cancel && cancel->cancelled()) return Error(ErrorCode::kCancelled, call.what + ": cancelled");
    if (attempt > 0) report(events_.retry, last_kind);
    auto r = send_once(call, cancel);
    if (!r) {
      if (r.error().code() != ErrorCode::kUnavailable) return failed(r.error().wrap(call.what));
      last = r.error();
      last_kind = failure_kind(*last);
      continue;
    }
    if (r->success()) return r;
    last = error_for(*r, call);
    last_kind = r->status == 429 || r->body.find("<Code>SlowDown</Code>") != std::string::npos ? "throttled"
                : r->status == 408                                                        ? "timeout"
                                                                                          : failure_kind(*last);
    if (last->code() != ErrorCode::kUnavailable) return failed(*last);
  }
  if (last) report(events_.failure, last_kind);
  return Error(ErrorCode::kUnavailable, call.what + ": gave up after " + std::to_string(attempts) +
                                            " attempts against " + describe() + "; last error: " +
                                            (last ? last->message() : "none") +
                                            " (is the S3 endpoint reachable? retry later)");
}

std::optional<std::string_view> ObjectHead::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i) {
      same = std::tolower(static_cast<unsigned char>(h.name[i])) == std::tolower(static_cast<unsigned char>(name[i]));
    }
    if (same) return std::string_view(h.value);
  }
  return std::nullopt;
}

Result<std::optional<ObjectHead>> S3Client::head_object(const std::string& full_key, const CancelToken* cancel) {
  S3Call call;
  call.method = "HEAD";
  call.key = full_key;
  call.what = "look up " + full_key;
  auto r = this->call(call, cancel);
  if (!r) {
    if (r.error().code() == ErrorCode::kNotFound) return std::optional<ObjectHead>();
    return r.error();
  }
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kUnavailable, call.what + " (" + describe() + "): the server's answer " + why);
  };
  ObjectHead head;
  auto length = r->header("Content-Length");
  if (!length) return bad("has no Content-Length");
  auto size = parse_decimal(*length);
  if (!size) return bad("has a Content-Length that is not a size: '" + std::string(length->substr(0, 40)) + "'");
  head.size = *size;
  auto etag = r->header("ETag");
  if (!etag || etag->empty() || etag->size() > 256) return bad("has no usable ETag");
  for (char c : *etag) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return bad("has an ETag with control or non-ASCII characters");
    }
  }
  head.etag = std::string(*etag);
  auto modified = r->header("Last-Modified");
  auto when = modified ? parse_http_date(*modified) : std::nullopt;
  if (!when) return bad("has no readable Last-Modified");
  head.last_modified = *when;
  head.headers = std::move(r->headers);
  return std::optional<ObjectHead>(std::move(head));
}

Error S3Client::error_for(const http::Response& response, const S3Call& call) const {
  auto answer = parse_error_answer(response.body);
  std::string code = answer ? answer->code : "";
  std::string message = answer ? answer->message : "";
  std::string said = "HTTP " + std::to_string(response.status) + (code.empty() ? "" : " " + code) +
                     (message.empty() ? "" : ": " + message);
  if (code.empty() && !response.body.empty()) {
    std::string excerpt = response.body.substr(0, 200);
    for (auto& c : excerpt) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = ' ';
    }
    said += ": " + excerpt;
  }
  std::string where = call.what + " (" + describe() + "): ";
  if (code == "AccessDenied" || code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" ||
      code == "ExpiredToken" || code == "InvalidToken" || response.status == 403) {
    return Error(ErrorCode::kPermissionDenied,
                 where + said + " - check the access key, secret, session token and the bucket policy");
  }
  if (code == "NoSuchBucket") {
    return Error(ErrorCode::kNotFound, where + "bucket '" + config_.bucket + "' does not exist (" + said +
                                           ") - create it or fix the store URL");
  }
  if (code == "InvalidBucketName") {
    return Error(ErrorCode::kInvalidArgument, where + "bucket '" + config_.bucket +
                                                  "' is not a valid bucket name for this server (" + said +
                                                  ") - fix the store URL");
  }
  // InvalidPart: "one or more of the specified parts could not be found".
  if (code == "NoSuchKey" || code == "NoSuchUpload" || code == "InvalidPart" || response.status == 404) {
    return Error(ErrorCode::kNotFound, where + said);
  }
  if (retryable_status(response.status) || retryable_code(code)) return Error(ErrorCode::kUnavailable, where + said);
  if (response.status == 412 || code == "PreconditionFailed") {
    return Error(ErrorCode::kConflict, where + "a precondition failed: the object exists or changed (" + said + ")");
  }
  if (response.status == 409) return Error(ErrorCode::kConflict, where + "conflicting request (" + said + ")");
  if (code == "InvalidArgument" || code == "KeyTooLongError" || code == "InvalidRequest" ||
      code == "EntityTooLarge" || code == "EntityTooSmall" || code == "InvalidPartOrder") {
    return Error(ErrorCode::kInvalidArgument, where + said);
  }
  return Error(ErrorCode::kInternal, where + said);
}

}  // namespace wscp::store::s3
