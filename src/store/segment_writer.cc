#include "store/segment_writer.h"

#include <algorithm>
#include <chrono>

namespace wscp::store {
namespace {

// How often a write() waiting for room looks at its caller's cancellation.
constexpr std::chrono::milliseconds kCancelPoll{50};

}  // namespace

SegmentWriter::SegmentWriter(ObjectStore& store, SegmentWriterConfig config, const OperationContext& ctx)
    : store_(store), config_(std::move(config)), ctx_(ctx), upload_(random_hex(16)) {
  if (config_.uploads_in_flight == 0) config_.uploads_in_flight = 1;
  upload_ctx_.operation_id = ctx_.operation_id;
}

SegmentWriter::~SegmentWriter() {
  if (!committed_) upload_ctx_.cancel->cancel();
  stop_uploads();  // drops the queued ones, awaits those committing
  if (committed_) return;
  // Best effort: a failed or abandoned archive leaves no segment behind. A
  // failure here leaves objects that delete_checkpoint removes later.
  for (std::uint64_t i = 0; i < next_index_; ++i) (void)store_.remove(segment_key(config_.archive_key, i));
}

std::size_t SegmentWriter::peak_in_flight() const {
  std::lock_guard lock(mu_);
  return peak_pending_;
}

std::string SegmentWriter::where(std::uint64_t index) const {
  return "segment " + std::to_string(index) + " of archive " + config_.archive_key;
}

std::optional<Error> SegmentWriter::failure() {
  if (ctx_.cancelled()) {
    upload_ctx_.cancel->cancel();
    return Error(ErrorCode::kCancelled, "archive " + config_.archive_key + ": cancelled");
  }
  std::lock_guard lock(mu_);
  return error_;
}

Status SegmentWriter::open_segment() {
  if (next_index_ >= kMaxSegments) {
    return Error(ErrorCode::kInvalidArgument, "archive " + config_.archive_key + " needs more than " +
                                                  std::to_string(kMaxSegments) + " segments of " +
                                                  std::to_string(config_.segment_size) +
                                                  " bytes: configure a larger segment size");
  }
  {
    std::lock_guard lock(mu_);
    if (!spare_.empty()) {
      current_ = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  current_.clear();
  current_.reserve(config_.segment_size + kMaxSegmentTrailer);
  open_ = true;
  ++next_index_;
  in_segment_ = 0;
  return Ok{};
}

Status SegmentWriter::commit(const Upload& up, const OperationContext& ctx) {
  if (ctx.cancelled()) return Error(ErrorCode::kCancelled, where(up.index) + ": cancelled");
  auto st = store_.put(segment_key(config_.archive_key, up.index), up.bytes, ctx);
  if (!st) return st.error().wrap(where(up.index));
  return Ok{};
}

Status SegmentWriter::write_trailer(bool last) {
  SegmentTrailer t;
  t.archive = config_.archive_key;
  t.upload = upload_;
  t.index = next_index_ - 1;
  t.segment_size = config_.segment_size;
  t.size = in_segment_;
  t.sha256 = to_hex(segment_hash_.finish());
  t.compression = config_.compression;
  t.encryption = config_.encryption;
  t.last = last;
  parts_.push_back(t.sha256);
  if (last) {
    digests_.size = size_;
    digests_.sha256 = to_hex(whole_hash_.finish());
    digests_.part_size = config_.segment_size;
    digests_.parts = parts_;
    StreamDigests plain = config_.plain_totals ? config_.plain_totals() : StreamDigests{};
    t.totals = SegmentTotals{next_index_, size_, digests_.sha256, plain.size, plain.sha256};
  }
  current_ += seal_segment_trailer(t, config_.mac_key ? &*config_.mac_key : nullptr);
  return Ok{};
}

// Hands the sealed current segment to the committing threads, waiting while
// uploads_in_flight are in flight.
Status SegmentWriter::submit() {
  Upload up{next_index_ - 1, std::move(current_)};
  current_ = std::string();
  open_ = false;
  std::unique_lock lock(mu_);
  while (workers_.size() < config_.uploads_in_flight) workers_.emplace_back([this] { commit_loop(); });
  while (pending_ >= config_.uploads_in_flight && !error_) {
    space_.wait_for(lock, kCancelPoll);
    if (ctx_.cancelled()) {
      upload_ctx_.cancel->cancel();
      return Error(ErrorCode::kCancelled, "archive " + config_.archive_key + ": cancelled");
    }
  }
  if (error_) return *error_;  // `up` is dropped: aborted, nothing committed
  ++pending_;
  peak_pending_ = std::max(peak_pending_, pending_);
  queue_.push_back(std::move(up));
  lock.unlock();
  work_.notify_one();
  return Ok{};
}

void SegmentWriter::commit_loop() {
  for (;;) {
    Upload up;
    {
      std::unique_lock lock(mu_);
      work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      up = std::move(queue_.front());
      queue_.pop_front();
    }
    std::optional<Error> failed;
    if (auto st = commit(up, upload_ctx_); !st) failed = st.error();
    std::deque<Upload> dropped;
    {
      std::lock_guard lock(mu_);
      --pending_;
      spare_.push_back(std::move(up.bytes));
      if (failed && !error_) {
        error_ = std::move(failed);
        // The archive is lost: stop the others.
        upload_ctx_.cancel->cancel();
        pending_ -= queue_.size();
        dropped.swap(queue_);
      }
    }
    space_.notify_all();
    dropped.clear();  // never committed: aborted, nothing left
  }
}

Status SegmentWriter::wait_all() {
  std::unique_lock lock(mu_);
  while (pending_ > 0) {
    space_.wait_for(lock, kCancelPoll);
    if (ctx_.cancelled()) {
      upload_ctx_.cancel->cancel();
      return Error(ErrorCode::kCancelled, "archive " + config_.archive_key + ": cancelled");
    }
  }
  if (error_) return *error_;
  return Ok{};
}

void SegmentWriter::stop_uploads() {
  std::deque<Upload> dropped;
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    pending_ -= queue_.size();
    dropped.swap(queue_);
    workers.swap(workers_);
  }
  work_.notify_all();
  dropped.clear();
  for (auto& t : workers) t.join();
}

Status SegmentWriter::write(std::span<const std::byte> data) {
  if (closed_) return Error(ErrorCode::kInternal, "write after close on archive " + config_.archive_key);
  if (auto e = failure()) return *e;
  return append(data);
}

Status SegmentWriter::append(std::span<const std::byte> data) {
  while (!data.empty()) {
    if (open_ && in_segment_ == config_.segment_size) {
      auto st = write_trailer(false);
      if (st) st = submit();
      if (!st) return st;
    }
    if (!open_) {
      auto st = open_segment();
      if (!st) return st;
    }
    const std::uint64_t room = config_.segment_size - in_segment_;
    const std::size_t take = data.size() < room ? data.size() : static_cast<std::size_t>(room);
    auto chunk = data.first(take);
    current_.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    segment_hash_.update(chunk);
    whole_hash_.update(chunk);
    in_segment_ += take;
    size_ += take;
    data = data.subspan(take);
  }
  return Ok{};
}

Status SegmentWriter::close() {
  if (closed_) return Error(ErrorCode::kInternal, "archive " + config_.archive_key + " closed twice");
  closed_ = true;
  if (auto e = failure()) return *e;
  if (!open_) {
    auto st = open_segment();  // an empty archive still has its (last) segment
    if (!st) return st;
  }
  auto st = write_trailer(true);
  if (!st) return st;
  // The last segment only once every earlier one is committed: who sees it
  // can read the whole archive.
  st = wait_all();
  if (!st) return st;
  stop_uploads();
  if (ctx_.cancelled()) return Error(ErrorCode::kCancelled, "archive " + config_.archive_key + ": cancelled");
  // On the caller's own context: its cancellation stops this PUT's retries.
  st = commit(Upload{next_index_ - 1, std::move(current_)}, ctx_);
  if (!st) return st;
  current_ = std::string();
  open_ = false;
  committed_ = true;
  return Ok{};
}

}  // namespace wscp::store
