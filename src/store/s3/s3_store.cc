#include "store/s3/s3_store.h"

#include <atomic>
#include <cstring>
#include <ctime>
#include <deque>
#include <future>

#include "store/s3/buffer_pool.h"
#include "store/s3/multipart_writer.h"
#include "store/s3/xml.h"

namespace wscp::store::s3 {
namespace {

// Reads an object as part-size ranges fetched `concurrency` ahead.
class RangedReader : public ByteSource {
 public:
  RangedReader(std::shared_ptr<S3Client> client, std::string key, std::uint64_t size, std::string etag,
               const OperationContext& ctx)
      : client_(std::move(client)), key_(std::move(key)), size_(size), etag_(std::move(etag)), ctx_(ctx) {}

  ~RangedReader() override {
    stop_.cancel();
    for (auto& f : inflight_) f.wait();
  }

  Result<std::size_t> read(std::span<std::byte> buffer) override {
    for (;;) {
      if (ctx_.cancelled()) {
        stop_.cancel();
        return Error(ErrorCode::kCancelled, "download of " + key_ + ": cancelled");
      }
      if (pos_ < current_.size()) {
        std::size_t n = std::min(buffer.size(), current_.size() - pos_);
        std::memcpy(buffer.data(), current_.data() + pos_, n);
        pos_ += n;
        return n;
      }
      fill_pipeline();
      if (inflight_.empty()) return std::size_t{0};
      auto r = inflight_.front().get();
      inflight_.pop_front();
      if (!r) return r.error();
      pool_.release(std::move(current_));
      current_ = std::move(*r);
      pos_ = 0;
      fill_pipeline();
    }
  }

 private:
  void fill_pipeline() {
    std::uint64_t range = client_->config().part_size;
    while (inflight_.size() < client_->config().concurrency && next_offset_ < size_) {
      std::uint64_t first = next_offset_;
      std::uint64_t last = std::min(size_, first + range) - 1;
      next_offset_ = last + 1;
      inflight_.push_back(std::async(std::launch::async, [this, first, last] { return fetch(first, last); }));
    }
  }

  Result<std::string> fetch(std::uint64_t first, std::uint64_t last) {
    if (ctx_.cancelled()) return Error(ErrorCode::kCancelled, "download of " + key_ + ": cancelled");
    BufferSink sink;
    sink.data = pool_.acquire(static_cast<std::size_t>(last - first + 1));
    S3Call call;
    call.key = key_;
    call.headers = {{"range", "bytes=" + std::to_string(first) + "-" + std::to_string(last)}};
    if (!etag_.empty()) call.headers.push_back({"if-match", etag_});
    call.sink = &sink;
    call.what = "download bytes " + std::to_string(first) + "-" + std::to_string(last) + " of " + key_;
    auto r = client_->call(call, &stop_);
    if (!r) {
      pool_.release(std::move(sink.data));
      return r.error();
    }
    if (sink.data.size() != last - first + 1) {
      pool_.release(std::move(sink.data));
      return Error(ErrorCode::kUnavailable, call.what + ": got " + std::to_string(sink.data.size()) + " bytes");
    }
    return std::move(sink.data);
  }

  std::shared_ptr<S3Client> client_;
  std::string key_;
  std::uint64_t size_;
  std::string etag_;
  const OperationContext& ctx_;
  CancelToken stop_;
  BufferPool pool_;
  std::deque<std::future<Result<std::string>>> inflight_;
  std::uint64_t next_offset_ = 0;
  std::string current_;
  std::size_t pos_ = 0;
};

// "2026-11-23T09:41:00.000Z" -> time point; epoch when unreadable.
std::chrono::system_clock::time_point parse_iso8601(const std::string& text) {
  std::tm tm{};
  if (sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
             &tm.tm_sec) != 6) {
    return {};
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

class S3Store : public ObjectStore {
 public:
  explicit S3Store(std::shared_ptr<S3Client> client) : client_(std::move(client)) {}

  Result<std::unique_ptr<ByteSink>> create(const std::string& key, const OperationContext& ctx) override {
    auto st = validate_key(key);
    if (!st) return st.error();
    return make_multipart_writer(client_, client_->full_key(key), ctx);
  }

  Result<std::unique_ptr<ByteSource>> open(const std::string& key, const OperationContext& ctx) override {
    auto st = validate_key(key);
    if (!st) return st.error();
    auto info = head_full(client_->full_key(key));
    if (!info) return info.error();
    if (!info->first) return Error(ErrorCode::kNotFound, "object " + key + " does not exist in " + describe());
    return std::unique_ptr<ByteSource>(
        std::make_unique<RangedReader>(client_, client_->full_key(key), info->first->size, info->second, ctx));
  }

  Result<std::optional<ObjectInfo>> head(const std::string& key) override {
    auto st = validate_key(key);
    if (!st) return st.error();
    auto info = head_full(client_->full_key(key));
    if (!info) return info.error();
    if (info->first) info->first->key = key;
    return info->first;
  }

  Result<std::vector<ObjectInfo>> list(const std::string& prefix) override {
    std::vector<ObjectInfo> out;
    std::string full_prefix = client_->full_key(prefix);
    if (prefix.empty() && !client_->config().prefix.empty()) full_prefix = client_->config().prefix + "/";
    std::size_t strip = client_->config().prefix.empty() ? 0 : client_->config().prefix.size() + 1;
    std::string token;
    for (;;) {
      S3Call call;
      call.key = "";
      call.query = {{"list-type", "2"}, {"prefix", full_prefix}};
      if (!token.empty()) call.query.emplace_back("continuation-token", token);
      call.what = "list " + prefix;
      auto r = client_->call(call);
      if (!r) return r.error();
      for (auto contents : xml_elements(r->body, "Contents")) {
        auto key = xml_text(contents, "Key").value_or("");
        auto size = xml_text(contents, "Size").value_or("0");
        if (key.size() < strip) continue;
        if (key.compare(strip, kUploadMarkerDir.size(), kUploadMarkerDir) == 0) continue;
        out.push_back(ObjectInfo{key.substr(strip), std::stoull(size)});
      }
      if (xml_text(r->body, "IsTruncated").value_or("false") != "true") break;
      token = xml_text(r->body, "NextContinuationToken").value_or("");
      if (token.empty()) break;
    }
    return out;
  }

  Status remove(const std::string& key) override {
    auto st = validate_key(key);
    if (!st) return st;
    S3Call call;
    call.method = "DELETE";
    call.key = client_->full_key(key);
    call.what = "delete " + key;
    auto r = client_->call(call);
    if (!r && r.error().code() != ErrorCode::kNotFound) return r.error();
    return Ok{};
  }

  Result<std::size_t> sweep_incomplete(std::chrono::seconds older_than) override {
    std::size_t aborted = 0;
    std::string prefix = client_->config().prefix.empty() ? "" : client_->config().prefix + "/";
    std::string key_marker, upload_marker;
    auto now = std::chrono::system_clock::now();
    for (;;) {
      S3Call call;
      call.query = {{"uploads", ""}, {"prefix", prefix}};
      if (!key_marker.empty()) {
        call.query.emplace_back("key-marker", key_marker);
        call.query.emplace_back("upload-id-marker", upload_marker);
      }
      call.what = "list incomplete uploads";
      auto r = client_->call(call);
      if (!r) return r.error();
      for (auto upload : xml_elements(r->body, "Upload")) {
        auto key = xml_text(upload, "Key").value_or("");
        auto id = xml_text(upload, "UploadId").value_or("");
        auto initiated = parse_iso8601(xml_text(upload, "Initiated").value_or(""));
        if (key.empty() || id.empty() || now - initiated < older_than) continue;
        S3Call abort;
        abort.method = "DELETE";
        abort.key = key;
        abort.query = {{"uploadId", id}};
        abort.what = "abort incomplete upload of " + key;
        auto a = client_->call(abort);
        if (!a && a.error().code() != ErrorCode::kNotFound) return a.error();
        ++aborted;
      }
      if (xml_text(r->body, "IsTruncated").value_or("false") != "true") break;
      key_marker = xml_text(r->body, "NextKeyMarker").value_or("");
      upload_marker = xml_text(r->body, "NextUploadIdMarker").value_or("");
      if (key_marker.empty()) break;
    }
    auto from_markers = sweep_markers(older_than);
    if (!from_markers) return from_markers.error();
    return aborted + *from_markers;
  }

  std::string describe() const override { return client_->describe(); }

 private:
  // Aborts the uploads recorded by markers older than `older_than` (see
  // kUploadMarkerDir), then removes the markers.
  Result<std::size_t> sweep_markers(std::chrono::seconds older_than) {
    std::size_t aborted = 0;
    auto now = std::chrono::system_clock::now();
    std::string token;
    for (;;) {
      S3Call call;
      call.query = {{"list-type", "2"}, {"prefix", client_->full_key(std::string(kUploadMarkerDir))}};
      if (!token.empty()) call.query.emplace_back("continuation-token", token);
      call.what = "list upload markers";
      auto r = client_->call(call);
      if (!r) return r.error();
      for (auto contents : xml_elements(r->body, "Contents")) {
        auto marker = xml_text(contents, "Key").value_or("");
        auto modified = parse_iso8601(xml_text(contents, "LastModified").value_or(""));
        if (marker.empty() || now - modified < older_than) continue;
        s3::S3Call get;
        get.key = marker;
        get.what = "read upload marker " + marker;
        auto body = client_->call(get);
        if (!body) {
          if (body.error().code() == ErrorCode::kNotFound) continue;  // another sweep took it
          return body.error();
        }
        auto newline = body->body.find('\n');
        std::string key = body->body.substr(0, newline);
        std::string id = newline == std::string::npos ? "" : body->body.substr(newline + 1);
        while (!id.empty() && id.back() == '\n') id.pop_back();
        if (!key.empty() && !id.empty()) {
          S3Call abort;
          abort.method = "DELETE";
          abort.key = key;
          abort.query = {{"uploadId", id}};
          abort.what = "abort incomplete upload of " + key;
          auto a = client_->call(abort);
          if (a) ++aborted;
          else if (a.error().code() != ErrorCode::kNotFound) return a.error();
        }
        S3Call remove_marker;
        remove_marker.method = "DELETE";
        remove_marker.key = marker;
        remove_marker.what = "remove upload marker " + marker;
        auto d = client_->call(remove_marker);
        if (!d && d.error().code() != ErrorCode::kNotFound) return d.error();
      }
      if (xml_text(r->body, "IsTruncated").value_or("false") != "true") break;
      token = xml_text(r->body, "NextContinuationToken").value_or("");
      if (token.empty()) break;
    }
    return aborted;
  }

  // (info or nullopt, etag)
  Result<std::pair<std::optional<ObjectInfo>, std::string>> head_full(const std::string& full_key) {
    S3Call call;
    call.method = "HEAD";
    call.key = full_key;
    call.what = "look up " + full_key;
    auto r = client_->call(call);
    if (!r) {
      if (r.error().code() == ErrorCode::kNotFound) return std::pair{std::optional<ObjectInfo>(), std::string()};
      return r.error();
    }
    auto length = r->header("Content-Length");
    if (!length) return Error(ErrorCode::kInternal, call.what + ": no Content-Length in the answer");
    ObjectInfo info{full_key, std::stoull(std::string(*length))};
    return std::pair{std::optional<ObjectInfo>(info), std::string(r->header("ETag").value_or(""))};
  }

  std::shared_ptr<S3Client> client_;
};

}  // namespace

std::unique_ptr<ObjectStore> make_s3_store(std::shared_ptr<S3Client> client) {
  return std::make_unique<S3Store>(std::move(client));
}

}  // namespace wscp::store::s3
