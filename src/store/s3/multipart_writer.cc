#include "store/s3/multipart_writer.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "store/crypto.h"
#include "store/s3/buffer_pool.h"
#include "store/s3/xml.h"

namespace wscp::store::s3 {
namespace {

// An ETag as S3 servers send them: 1 to 256 printable ASCII characters.
bool plausible_etag(std::string_view etag) {
  if (etag.empty() || etag.size() > 256) return false;
  for (char c : etag) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) return false;
  }
  return true;
}

struct Part {
  int number = 0;
  std::string data;
};

class MultipartWriter : public ByteSink {
 public:
  MultipartWriter(std::shared_ptr<S3Client> client, std::string key, const OperationContext& ctx)
      : client_(std::move(client)), key_(std::move(key)), ctx_(ctx) {
    buffer_ = pool_.acquire(current_part_size());
  }

  ~MultipartWriter() override {
    stop_workers();
    if (!committed_ && !upload_id_.empty()) abort_upload();
  }

  Status write(std::span<const std::byte> data) override {
    if (closed_) return Error(ErrorCode::kInternal, "write after close on " + key_);
    while (!data.empty()) {
      if (auto e = first_error()) return *e;
      if (ctx_.cancelled()) return Error(ErrorCode::kCancelled, "upload of " + key_ + ": cancelled");
      std::size_t room = current_part_size() - buffer_.size();
      std::size_t take = std::min<std::size_t>(room, data.size());
      buffer_.append(reinterpret_cast<const char*>(data.data()), take);
      data = data.subspan(take);
      if (buffer_.size() == current_part_size()) {
        auto st = submit_part();
        if (!st) return st;
      }
    }
    return Ok{};
  }

  Status close() override {
    if (closed_) return Error(ErrorCode::kInternal, "close called twice on " + key_);
    closed_ = true;
    if (upload_id_.empty()) return put_single();
    if (!buffer_.empty()) {
      auto st = submit_part();
      if (!st) return st;
    }
    wait_idle();
    stop_workers();
    if (auto e = first_error()) return *e;
    if (ctx_.cancelled()) return Error(ErrorCode::kCancelled, "upload of " + key_ + ": cancelled");
    return complete();
  }

 private:
  std::uint64_t current_part_size() const { return part_size_for(client_->config().part_size, next_part_); }

  std::optional<Error> first_error() {
    std::lock_guard lock(mu_);
    return error_;
  }

  Status put_single() {
    S3Call call;
    call.method = "PUT";
    call.key = key_;
    call.body = &buffer_;
    call.what = "upload " + key_;
    auto r = client_->call(call, ctx_.cancel.get());
    if (!r) return r.error();
    committed_ = true;
    return Ok{};
  }

  Status initiate() {
    S3Call call;
    call.method = "POST";
    call.key = key_;
    call.query = {{"uploads", ""}};
    call.what = "start multipart upload of " + key_;
    upload_token_ = random_hex(16);
    call.headers = {{std::string(kWriterHeader), client_->config().writer_id},
                    {std::string(kUploadTokenHeader), upload_token_}};
    auto r = client_->call(call, ctx_.cancel.get());
    if (!r) return r.error();
    auto id = parse_initiate_upload(r->body);
    if (!id) return id.error().wrap(call.what);
    upload_id_ = *id;
    // Some servers (MinIO) list incomplete uploads only by exact key, and a
    // listing does not say who started an upload: leave a marker in this
    // writer's folder, so its sweep finds this upload if the abort fails.
    marker_key_ = client_->full_key(std::string(kUploadMarkerDir) + client_->config().writer_id + "/" +
                                    random_hex(12));
    std::string marker = key_ + "\n" + upload_id_ + "\n";
    S3Call put;
    put.method = "PUT";
    put.key = marker_key_;
    put.body = &marker;
    put.what = "record multipart upload of " + key_;
    auto m = client_->call(put, ctx_.cancel.get());
    if (!m) {
      marker_key_.clear();
      abort_upload();
      upload_id_.clear();
      return m.error();
    }
    unsigned n = client_->config().concurrency;
    for (unsigned i = 0; i < n; ++i) workers_.emplace_back([this] { work(); });
    return Ok{};
  }

  Status submit_part() {
    if (upload_id_.empty()) {
      auto st = initiate();
      if (!st) return st;
    }
    if (next_part_ > kMaxParts) {
      return Error(ErrorCode::kInvalidArgument, "upload of " + key_ + " exceeds S3's 10,000 parts");
    }
    const int part_number = next_part_++;
    total_bytes_ += buffer_.size();
    Part part{part_number, std::move(buffer_)};
    {
      std::unique_lock lock(mu_);
      // Bounded: at most `concurrency` parts queued or uploading.
      space_.wait(lock, [&] { return pending_ < client_->config().concurrency || error_; });
      if (error_) return *error_;
      ++pending_;
      queue_.push_back(std::move(part));
      etags_.resize(static_cast<std::size_t>(part_number));
    }
    work_.notify_one();
    buffer_ = pool_.acquire(current_part_size());
    return Ok{};
  }

  void work() {
    for (;;) {
      Part part;
      {
        std::unique_lock lock(mu_);
        work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        part = std::move(queue_.front());
        queue_.pop_front();
      }
      S3Call call;
      call.method = "PUT";
      call.key = key_;
      call.query = {{"partNumber", std::to_string(part.number)}, {"uploadId", upload_id_}};
      call.body = &part.data;
      call.what = "upload part " + std::to_string(part.number) + " of " + key_;
      std::optional<Error> failed;
      std::string etag;
      if (ctx_.cancelled()) {
        failed = Error(ErrorCode::kCancelled, call.what + ": cancelled");
      } else {
        auto r = client_->call(call, ctx_.cancel.get());
        if (!r) {
          failed = r.error();
        } else if (auto e = r->header("ETag"); e && plausible_etag(*e)) {
          etag = std::string(*e);
        } else {
          // Seen only from a server shutting down: worth a later retry.
          failed = Error(ErrorCode::kUnavailable, call.what + ": the server's answer has no usable ETag");
        }
      }
      pool_.release(std::move(part.data));  // reused for a later part
      {
        std::lock_guard lock(mu_);
        if (failed && !error_) error_ = failed;
        if (!failed) etags_[static_cast<std::size_t>(part.number - 1)] = etag;
        --pending_;
      }
      space_.notify_all();
    }
  }

  void wait_idle() {
    std::unique_lock lock(mu_);
    space_.wait(lock, [&] { return pending_ == 0; });
  }

  void stop_workers() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      if (!committed_) {
        // Nobody will complete this upload: drop what has not started.
        pending_ -= queue_.size();
        queue_.clear();
      }
    }
    work_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  Status complete() {
    std::string body = "<CompleteMultipartUpload>";
    for (std::size_t i = 0; i < etags_.size(); ++i) {
      body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + xml_escape(etags_[i]) +
              "</ETag></Part>";
    }
    body += "</CompleteMultipartUpload>";
    S3Call call;
    call.method = "POST";
    call.key = key_;
    call.query = {{"uploadId", upload_id_}};
    call.body = &body;
    call.headers = {{"content-type", "application/xml"}};
    call.what = "complete multipart upload of " + key_;
    const int attempts = client_->config().retry.max_attempts;
    for (int attempt = 1;; ++attempt) {
      auto r = client_->call(call, ctx_.cancel.get());
      if (!r) {
        // After a retry (the first answer lost), the server may no longer
        // know the upload (NoSuchUpload) or its parts (InvalidPart, also
        // kNotFound) because it completed it.
        if (r.error().code() == ErrorCode::kNotFound) return confirm_completed(r.error());
        return r.error();
      }
      // S3 may answer 200 and report the failure in the body.
      if (auto e = parse_error_answer(r->body)) {
        http::Response failed = *r;
        failed.status = 500;
        auto error = client_->error_for(failed, call);
        if (error.code() == ErrorCode::kUnavailable && attempt < attempts && !ctx_.cancelled()) continue;
        return error;
      }
      break;
    }
    committed_ = true;
    remove_marker();
    return Ok{};
  }

  // The server no longer knows the upload or its parts: either an earlier
  // attempt of this very request completed it (its answer lost), or it was
  // aborted, or the server lost it while completing it (a restart). The
  // object tells which: it carries this upload's token and size only in the
  // first case.
  Status confirm_completed(const Error& refused) {
    auto head = client_->head_object(key_, ctx_.cancel.get());
    if (!head) return head.error().wrap("complete multipart upload of " + key_ + " (checking after: " + refused.message() + ")");
    if (*head && (*head)->header(kUploadTokenHeader) == upload_token_ && (*head)->size == total_bytes_) {
      committed_ = true;
      remove_marker();
      return Ok{};
    }
    if (*head) {
      return Error(ErrorCode::kConflict, refused.message() +
                                             "; the object there is not this upload's (another writer replaced it, "
                                             "or a sweep aborted this upload): write it again");
    }
    // Nothing was made: the upload is lost, which a later attempt repairs.
    return Error(ErrorCode::kUnavailable,
                 refused.message() + "; no object was made (the upload was aborted by a sweep, or the server "
                                     "lost it while completing it): write it again");
  }

  void remove_marker() {
    if (marker_key_.empty()) return;
    S3Call call;
    call.method = "DELETE";
    call.key = marker_key_;
    call.what = "remove upload marker";
    auto r = client_->send_once(call);  // a leftover marker only costs the sweep a request
    (void)r;
  }

  void abort_upload() {
    S3Call call;
    call.method = "DELETE";
    call.key = key_;
    call.query = {{"uploadId", upload_id_}};
    call.what = "abort multipart upload of " + key_;
    // Best effort, briefly: if the server is unreachable the sweep aborts it later.
    auto r = client_->send_once(call);
    if (r && (r->success() || r->status == 404)) remove_marker();
  }

  std::shared_ptr<S3Client> client_;
  std::string key_;
  const OperationContext& ctx_;
  BufferPool pool_;
  std::string buffer_;
  int next_part_ = 1;
  std::string upload_id_;
  std::string upload_token_;
  std::uint64_t total_bytes_ = 0;
  std::string marker_key_;
  bool closed_ = false;
  bool committed_ = false;

  std::mutex mu_;
  std::condition_variable work_;
  std::condition_variable space_;
  std::deque<Part> queue_;
  std::size_t pending_ = 0;
  bool stopping_ = false;
  std::optional<Error> error_;
  std::vector<std::string> etags_;
  std::vector<std::thread> workers_;
};

}  // namespace

std::unique_ptr<ByteSink> make_multipart_writer(std::shared_ptr<S3Client> client, std::string full_key,
                                                const OperationContext& ctx) {
  return std::make_unique<MultipartWriter>(std::move(client), std::move(full_key), ctx);
}

}  // namespace wscp::store::s3
