#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <string>
#include <utility>
#include <vector>

#include "common/operation.h"
#include "http/client.h"
#include "store/s3/credentials.h"
#include "store/s3/s3_config.h"
#include "store/store_events.h"

namespace wscp::store::s3 {

// A sink into a buffer that a retried request can empty again. It refuses to
// hold more than `limit` bytes (an answer longer than what was asked for is
// an error, never a reason to buffer without bound).
class BufferSink : public ByteSink {
 public:
  std::string data;
  std::size_t limit = SIZE_MAX;
  std::string what = "the answer";  // for the overflow message
  Status write(std::span<const std::byte> bytes) override {
    if (bytes.size() > limit - data.size()) {
      return Error(ErrorCode::kUnsupported, what + ": the server sent more than the " + std::to_string(limit) +
                                                " bytes asked for");
    }
    data.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return Ok{};
  }
  Status close() override { return Ok{}; }
};

struct S3Call {
  std::string method = "GET";
  std::string key;  // full object key (prefix included); empty: the bucket itself
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<http::Header> headers;
  const std::string* body = nullptr;  // in memory, so every retry can resend it
  // Or a streamed body of known size (sent once, unsigned payload): if the
  // stream fails, the upload is broken off and the server stores nothing.
  ByteSource* body_stream = nullptr;
  std::uint64_t body_stream_size = 0;
  BufferSink* sink = nullptr;         // emptied before each attempt
  std::string what;                   // for messages: "upload part 3 of ws/…"
};

// What HEAD says of an object, every field checked.
struct ObjectHead {
  std::uint64_t size = 0;
  std::string etag;  // quotes included, as sent
  std::chrono::system_clock::time_point last_modified;
  std::vector<http::Header> headers;  // all of them, for x-amz-meta-*
  std::optional<std::string_view> header(std::string_view name) const;
};

// Signed S3 requests with retries. An HTTP 5xx, 429, or a transport failure
// is retried with exponential backoff and full jitter; the final failure is an
// Error saying what S3 answered (AccessDenied, NoSuchBucket, …) and what to do.
class S3Client {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  using Sleep = std::function<void(std::chrono::milliseconds)>;

  S3Client(S3Config config, Credentials credentials, std::shared_ptr<http::Client> http,
           Clock clock = &std::chrono::system_clock::now, Sleep sleep = nullptr);

  // Success is a 2xx answer; any other status is turned into an error.
  Result<http::Response> call(const S3Call& call, const CancelToken* cancel = nullptr);
  // One signed attempt, whatever the status (for the fault tests and HEAD).
  Result<http::Response> send_once(const S3Call& call, const CancelToken* cancel = nullptr);

  const S3Config& config() const { return config_; }
  std::string full_key(const std::string& key) const {
    return config_.prefix.empty() ? key : config_.prefix + "/" + key;
  }
  std::string describe() const;

  // HEAD of an object (full key): nullopt when it does not exist; an answer
  // with a missing or unreadable Content-Length, ETag or Last-Modified is
  // kUnavailable.
  Result<std::optional<ObjectHead>> head_object(const std::string& full_key, const CancelToken* cancel = nullptr);

  // The error for a non-2xx answer (public for tests).
  Error error_for(const http::Response& response, const S3Call& call) const;

  // Who hears of requests sent again and of final failures (not kNotFound
  // nor kConflict: the phases ask for objects that do not exist yet, and
  // conditional writes lose races by design). Set before first use.
  void set_events(StoreEvents events) { events_ = std::move(events); }

 private:
  void report(const std::function<void(std::string_view)>& to, std::string_view kind) const {
    if (to) to(kind);
  }

  std::pair<std::string, std::string> url_and_host(const S3Call& call) const;
  std::chrono::milliseconds backoff(int attempt);

  S3Config config_;
  Credentials credentials_;
  std::shared_ptr<http::Client> http_;
  Clock clock_;
  Sleep sleep_;
  StoreEvents events_;
};

}  // namespace wscp::store::s3
