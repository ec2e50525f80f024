#include "store/s3/s3_store.h"

#include <cstring>
#include <deque>
#include <future>
#include <set>

#include "store/crypto.h"
#include "store/parse_number.h"
#include "store/s3/buffer_pool.h"
#include "store/s3/http_time.h"
#include "store/s3/multipart_writer.h"
#include "store/s3/xml.h"

namespace wscp::store::s3 {
namespace {

// "bytes FIRST-LAST/SIZE" exactly as asked for.
bool content_range_is(std::string_view header, std::uint64_t first, std::uint64_t last, std::uint64_t size) {
  if (!header.starts_with("bytes ")) return false;
  header.remove_prefix(6);
  auto dash = header.find('-');
  auto slash = header.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) return false;
  auto f = parse_decimal(header.substr(0, dash));
  auto l = parse_decimal(header.substr(dash + 1, slash - dash - 1));
  auto s = parse_decimal(header.substr(slash + 1));
  return f == first && l == last && s == size;
}

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
      if (!r) {
        stop_.cancel();
        return r.error();
      }
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
    const std::size_t length = static_cast<std::size_t>(last - first + 1);
    BufferSink sink;
    sink.data = pool_.acquire(length);
    // A server that ignores Range sends the whole object: stop it at the
    // range's length instead of buffering it.
    sink.limit = length;
    S3Call call;
    call.key = key_;
    call.headers = {{"range", "bytes=" + std::to_string(first) + "-" + std::to_string(last)}};
    if (!etag_.empty()) call.headers.push_back({"if-match", etag_});
    call.sink = &sink;
    call.what = "download bytes " + std::to_string(first) + "-" + std::to_string(last) + " of " + key_;
    sink.what = call.what + " (does the server ignore the Range header?)";
    auto fail = [&](Error e) -> Result<std::string> {
      pool_.release(std::move(sink.data));
      return e;
    };
    auto r = client_->call(call, &stop_);
    if (!r) return fail(r.error());
    const bool whole = first == 0 && last + 1 == size_;
    if (r->status == 206) {
      auto range = r->header("Content-Range");
      if (!range || !content_range_is(*range, first, last, size_)) {
        return fail(Error(ErrorCode::kIntegrity,
                          call.what + ": the server answered Content-Range '" +
                              std::string(range.value_or("")).substr(0, 80) + "', not the bytes asked for (" +
                              std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(size_) + ")"));
      }
    } else if (!(r->status == 200 && whole)) {
      return fail(Error(ErrorCode::kUnsupported,
                        call.what + ": the server answered HTTP " + std::to_string(r->status) +
                            " instead of 206 Partial Content: it does not honour the Range header"));
    }
    if (sink.data.size() != length) {
      return fail(Error(ErrorCode::kUnavailable, call.what + ": got " + std::to_string(sink.data.size()) + " of " +
                                                     std::to_string(length) + " bytes"));
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

// An upload id as S3 servers make them: printable, no spaces.
bool plausible_upload_id(std::string_view id) {
  if (id.empty() || id.size() > 1024) return false;
  for (char c : id) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) return false;
  }
  return true;
}

class S3Store : public ObjectStore {
 public:
  explicit S3Store(std::shared_ptr<S3Client> client) : client_(std::move(client)) {}

  Result<std::unique_ptr<ByteSink>> create(const std::string& key, const OperationContext& ctx) override {
    auto st = validate_key(key);
    if (!st) return st.error();
    return make_multipart_writer(client_, client_->full_key(key), ctx);
  }

  Status put(const std::string& key, const std::string& data, const OperationContext& ctx) override {
    auto st = validate_key(key);
    if (!st) return st;
    S3Call call;
    call.method = "PUT";
    call.key = client_->full_key(key);
    call.body = &data;  // in memory: every retry resends it whole
    call.what = "upload " + key;
    auto r = client_->call(call, ctx.cancel.get());
    if (!r) return r.error();
    return Ok{};
  }

  Status create_exclusive(const std::string& key, std::string_view data, const OperationContext& ctx) override {
    auto st = validate_key(key);
    if (!st) return st;
    const std::string full = client_->full_key(key);
    // Identifies this creation, so that a retry whose first answer was lost
    // recognises its own object instead of reporting a conflict.
    const std::string token = random_hex(16);
    const std::string body(data);
    for (int round = 0; round < 3; ++round) {
      S3Call call;
      call.method = "PUT";
      call.key = full;
      call.body = &body;
      call.headers = {{"if-none-match", "*"}, {std::string(kCreateTokenHeader), token}};
      call.what = "create " + key + " if absent";
      auto r = client_->call(call, ctx.cancel.get());
      if (r) return Ok{};
      if (r.error().code() != ErrorCode::kConflict) return r.error();
      // 412: an object is there; 409: a concurrent conditional write. Whose?
      auto head = client_->head_object(full, ctx.cancel.get());
      if (!head) return head.error();
      if (*head) {
        if ((*head)->header(kCreateTokenHeader) == token) return Ok{};
        return Error(ErrorCode::kConflict, "object " + key + " already exists in " + describe());
      }
      // Gone again (removed meanwhile): try again.
    }
    return Error(ErrorCode::kConflict, "object " + key + " in " + describe() +
                                           " kept changing while it was created; try again");
  }

  Result<std::unique_ptr<ByteSource>> open(const std::string& key, const OperationContext& ctx) override {
    auto st = validate_key(key);
    if (!st) return st.error();
    auto head = client_->head_object(client_->full_key(key), ctx.cancel.get());
    if (!head) return head.error();
    if (!*head) return Error(ErrorCode::kNotFound, "object " + key + " does not exist in " + describe());
    return std::unique_ptr<ByteSource>(
        std::make_unique<RangedReader>(client_, client_->full_key(key), (*head)->size, (*head)->etag, ctx));
  }

  Result<std::optional<ObjectInfo>> head(const std::string& key) override {
    auto st = validate_key(key);
    if (!st) return st.error();
    auto head = client_->head_object(client_->full_key(key));
    if (!head) return head.error();
    if (!*head) return std::optional<ObjectInfo>();
    return std::optional<ObjectInfo>(ObjectInfo{key, (*head)->size, (*head)->etag, (*head)->last_modified});
  }

  Result<std::vector<ObjectInfo>> list(const std::string& prefix) override {
    std::vector<ObjectInfo> out;
    std::string full_prefix = client_->full_key(prefix);
    if (prefix.empty() && !client_->config().prefix.empty()) full_prefix = client_->config().prefix + "/";
    std::size_t strip = client_->config().prefix.empty() ? 0 : client_->config().prefix.size() + 1;
    auto r = list_full(full_prefix, "list " + prefix, nullptr);
    if (!r) return r.error();
    for (auto& o : *r) {
      // Only keys inside this store that wscp could have written.
      if (o.key.size() <= strip || o.key.compare(0, full_prefix.size(), full_prefix) != 0) continue;
      std::string key = o.key.substr(strip);
      if (key.starts_with(kUploadMarkerDir)) continue;
      if (!validate_key(key)) continue;
      out.push_back(ObjectInfo{std::move(key), o.size, std::move(o.etag), o.last_modified});
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

  Status replace_if_match(const std::string& key, std::string_view data, const std::string& etag,
                          const OperationContext& ctx) override {
    auto st = validate_key(key);
    if (!st) return st;
    if (etag.empty()) return Error(ErrorCode::kInvalidArgument, "replace " + key + " if it matches: the ETag is empty");
    const std::string full = client_->full_key(key);
    const std::string token = random_hex(16);
    const std::string body(data);
    S3Call call;
    call.method = "PUT";
    call.key = full;
    call.body = &body;
    call.headers = {{"if-match", etag}, {std::string(kCreateTokenHeader), token}};
    call.what = "replace " + key + " if it is still version " + etag;
    auto r = client_->call(call, ctx.cancel.get());
    if (r) return Ok{};
    if (r.error().code() != ErrorCode::kConflict) return r.error();
    // 412: another version is there, unless it is this request's own (a
    // retry whose first answer was lost).
    auto head = client_->head_object(full, ctx.cancel.get());
    if (!head) return head.error();
    if (*head && (*head)->header(kCreateTokenHeader) == token) return Ok{};
    return Error(ErrorCode::kConflict, "object " + key + " in " + describe() + " was replaced (it is no longer " +
                                           etag + "); left as it is");
  }

  Status remove_if_match(const std::string& key, const std::string&) override {
    // Measured: the pinned MinIO answers DELETE with a mismatching If-Match
    // by deleting the object anyway, so a conditional delete cannot be
    // trusted to S3-compatible servers.
    return Error(ErrorCode::kUnsupported,
                 "remove " + key + " only if unchanged: S3-compatible servers may ignore If-Match on DELETE (MinIO "
                 "does) and remove any version; use replace_if_match");
  }

  Result<std::chrono::system_clock::time_point> now() override {
    S3Call call;
    call.method = "HEAD";
    call.what = "read the store's clock";
    auto r = client_->call(call);
    if (!r) return r.error();
    return date_of(*r, call.what);
  }

  Result<std::size_t> sweep_incomplete(std::chrono::seconds older_than) override {
    std::size_t aborted = 0;
    const std::string own = client_->full_key(std::string(kUploadMarkerDir) + client_->config().writer_id + "/");
    const std::string store_prefix = client_->config().prefix.empty() ? "" : client_->config().prefix + "/";
    std::chrono::system_clock::time_point now{};
    auto markers = list_full(own, "list upload markers", &now);
    if (!markers) return markers.error();
    for (const auto& m : *markers) {
      // Measured by the store's clock, not this node's.
      if (m.key.compare(0, own.size(), own) != 0 || now - m.last_modified < older_than) continue;
      BufferSink sink;
      sink.limit = 8192;
      sink.what = "upload marker " + m.key;
      S3Call get;
      get.key = m.key;
      get.sink = &sink;
      get.what = "read upload marker " + m.key;
      auto body = client_->call(get);
      if (!body) {
        if (body.error().code() == ErrorCode::kNotFound) continue;  // another sweep took it
        return body.error();
      }
      auto newline = sink.data.find('\n');
      std::string key = sink.data.substr(0, newline);
      std::string id = newline == std::string::npos ? "" : sink.data.substr(newline + 1);
      while (!id.empty() && id.back() == '\n') id.pop_back();
      // A marker names an upload inside this store; anything else is not ours to abort.
      bool valid = key.size() > store_prefix.size() && key.compare(0, store_prefix.size(), store_prefix) == 0 &&
                   validate_key(key.substr(store_prefix.size())) && plausible_upload_id(id);
      if (valid) {
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
      remove_marker.key = m.key;
      remove_marker.what = "remove upload marker " + m.key;
      auto d = client_->call(remove_marker);
      if (!d && d.error().code() != ErrorCode::kNotFound) return d.error();
    }
    return aborted;
  }

  std::string describe() const override { return client_->describe(); }

 private:
  Result<std::chrono::system_clock::time_point> date_of(const http::Response& r, const std::string& what) const {
    auto date = r.header("Date");
    auto when = date ? parse_http_date(*date) : std::nullopt;
    if (!when) {
      return Error(ErrorCode::kUnavailable, what + " (" + describe() + "): the server's answer has no readable Date");
    }
    return *when;
  }

  // Every object under a full prefix (ListObjectsV2, all pages). With `now`,
  // also the store's time of the first answer.
  Result<std::vector<ListedObject>> list_full(const std::string& full_prefix, const std::string& what,
                                              std::chrono::system_clock::time_point* now) {
    std::vector<ListedObject> out;
    std::set<std::string> tokens;
    std::string token;
    for (;;) {
      S3Call call;
      call.query = {{"list-type", "2"}, {"prefix", full_prefix}};
      if (!token.empty()) call.query.emplace_back("continuation-token", token);
      call.what = what;
      auto r = client_->call(call);
      if (!r) return r.error();
      if (now != nullptr && tokens.empty()) {
        auto when = date_of(*r, what);
        if (!when) return when.error();
        *now = *when;
      }
      auto listing = parse_list_objects(r->body);
      if (!listing) return listing.error().wrap(what + " (" + describe() + ")");
      for (auto& o : listing->objects) out.push_back(std::move(o));
      if (!listing->truncated) break;
      if (!tokens.insert(listing->next_token).second) {
        return Error(ErrorCode::kUnavailable, what + " (" + describe() +
                                                  "): the server repeated a continuation token; the listing loops");
      }
      token = listing->next_token;
    }
    return out;
  }

  std::shared_ptr<S3Client> client_;
};

}  // namespace

std::unique_ptr<ObjectStore> make_s3_store(std::shared_ptr<S3Client> client) {
  return std::make_unique<S3Store>(std::move(client));
}

}  // namespace wscp::store::s3
