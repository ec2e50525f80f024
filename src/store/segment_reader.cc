#include "store/segment_reader.h"

#include <algorithm>
#include <cstring>

namespace wscp::store {
namespace {

constexpr std::size_t kTrailerRoom = kMaxSegmentTrailer + 4 + kSegmentMagic.size();

std::string seconds(std::chrono::milliseconds d) {
  const auto ms = d.count();
  return std::to_string(ms / 1000) + "." + std::to_string((ms % 1000) / 100) + " s";
}

bool same_encryption(const std::optional<EncryptionInfo>& a, const std::optional<EncryptionInfo>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->algorithm == b->algorithm && a->key_id == b->key_id);
}

Error refused(const std::string& where, const std::string& why) {
  return Error(ErrorCode::kIntegrity, where + " " + why +
                                          "; refusing it (the store's objects were altered, mixed or truncated; "
                                          "restore from another checkpoint)");
}

}  // namespace

SegmentReader::SegmentReader(ObjectStore& store, std::string key, Keyring mac_keys, const OperationContext& ctx,
                             unsigned read_ahead)
    : store_(store), key_(std::move(key)), mac_keys_(std::move(mac_keys)), ctx_(ctx), read_ahead_(read_ahead) {
  fetch_ctx_.operation_id = ctx_.operation_id;
}

SegmentReader::~SegmentReader() { stop(); }

std::unique_ptr<SegmentReader> SegmentReader::for_archive(ObjectStore& store, const ArchiveObject& archive,
                                                          Keyring mac_keys, const OperationContext& ctx,
                                                          unsigned read_ahead) {
  std::unique_ptr<SegmentReader> r(new SegmentReader(store, archive.key, std::move(mac_keys), ctx, read_ahead));
  r->archive_ = archive;
  r->segment_size_ = archive.segment_size;
  return r;
}

std::unique_ptr<SegmentReader> SegmentReader::follow(ObjectStore& store, std::string archive_key,
                                                     Compression expected_compression, bool expect_encrypted,
                                                     Keyring mac_keys, FollowOptions follow,
                                                     const OperationContext& ctx, unsigned read_ahead) {
  std::unique_ptr<SegmentReader> r(
      new SegmentReader(store, std::move(archive_key), std::move(mac_keys), ctx, read_ahead));
  if (!follow.clock) follow.clock = system_clock();
  r->follow_ = std::move(follow);
  r->expected_compression_ = expected_compression;
  r->expect_encrypted_ = expect_encrypted;
  return r;
}

std::size_t SegmentReader::buffers() const {
  std::lock_guard lock(mu_);
  return buffers_;
}

std::string SegmentReader::where(std::uint64_t index) const {
  return "segment " + std::to_string(index) + " of archive " + key_ + " (" + segment_key(key_, index) + ")";
}

Status SegmentReader::check(const SegmentTrailer& t, const std::string& where) const {
  if (t.archive != key_) return refused(where, "belongs to archive " + t.archive.substr(0, 512));
  if (t.index != index_) return refused(where, "is segment " + std::to_string(t.index) + " of its archive");
  if (archive_) {
    const ArchiveObject& a = *archive_;
    if (t.upload != a.upload) return refused(where, "belongs to another writing of this archive");
    if (t.segment_size != a.segment_size) return refused(where, "has a segment size the manifest does not record");
    if (index_ >= a.stored.parts.size() || t.sha256 != a.stored.parts[index_]) {
      return refused(where, "has a SHA-256 that differs from the manifest");
    }
    if (t.last != (index_ + 1 == a.segments)) {
      return refused(where, t.last ? "is marked last but the manifest records " + std::to_string(a.segments) +
                                         " segments"
                                   : "is not marked last but the manifest records " +
                                         std::to_string(a.segments) + " segments");
    }
    if (t.compression != a.compression || !same_encryption(t.encryption, a.encryption)) {
      return refused(where, "is encoded otherwise than the manifest records");
    }
    if (t.totals) {
      const SegmentTotals& s = *t.totals;
      if (s.segments != a.segments || s.stored_size != a.stored.size || s.stored_sha256 != a.stored.sha256 ||
          s.plain_size != a.plain_size || s.plain_sha256 != a.plain_sha256) {
        return refused(where, "has totals that differ from the manifest");
      }
    }
    return Ok{};
  }
  if (!first_) {
    if (t.compression != expected_compression_ || t.encryption.has_value() != expect_encrypted_) {
      return refused(where, "is encoded otherwise than this store writes its archives (" +
                                std::string(to_string(t.compression)) + (t.encryption ? ", encrypted" : ", not encrypted") + ")");
    }
    return Ok{};
  }
  if (t.upload != first_->upload) return refused(where, "belongs to another writing of this archive");
  if (t.segment_size != first_->segment_size || t.compression != first_->compression ||
      !same_encryption(t.encryption, first_->encryption)) {
    return refused(where, "differs from the archive's first segment in size or encoding");
  }
  return Ok{};
}

void SegmentReader::top_up(bool need_next) {
  if (stopping_ || totals_) return;
  std::uint64_t window = read_ahead_;
  // Following, the first segment says how large the others are (their
  // buffers): nothing is fetched ahead before it.
  if (follow_ && !first_) window = 0;
  if (need_next && window == 0) window = 1;
  const std::uint64_t end = archive_ ? archive_->segments : kMaxSegments;
  bool queued = false;
  while (slots_.size() < window && index_ + slots_.size() < end) {
    Slot slot;
    slot.index = index_ + slots_.size();
    slots_.push_back(std::move(slot));
    queued = true;
  }
  if (!queued) return;
  const std::size_t threads = read_ahead_ > 0 ? read_ahead_ : 1;
  while (workers_.size() < threads) workers_.emplace_back([this] { fetch_loop(); });
  work_.notify_all();
}

void SegmentReader::fetch_loop() {
  for (;;) {
    Slot* slot = nullptr;
    std::uint64_t segment_size = 0;
    {
      std::unique_lock lock(mu_);
      for (;;) {
        if (stopping_) return;
        for (auto& s : slots_) {
          if (s.state == SlotState::kQueued) {
            slot = &s;
            break;
          }
        }
        if (slot != nullptr) break;
        work_.wait(lock);
      }
      // Slots are removed from the front only when not being fetched, and
      // a deque keeps references to its other elements valid.
      slot->state = SlotState::kFetching;
      segment_size = segment_size_;
      if (slot->buffer.capacity() == 0) {
        if (!free_.empty()) {
          slot->buffer = std::move(free_.back());
          free_.pop_back();
        } else {
          ++buffers_;
        }
      }
    }
    const SlotState state = fetch(*slot, segment_size);
    {
      std::lock_guard lock(mu_);
      slot->state = state;
    }
    ready_.notify_all();
  }
}

SegmentReader::SlotState SegmentReader::fetch(Slot& slot, std::uint64_t segment_size) {
  const std::string where = this->where(slot.index);
  slot.error.reset();
  auto stopped = [&]() -> bool { return ctx_.cancelled() || fetch_ctx_.cancelled(); };
  auto failed = [&](Error e) {
    slot.error = std::move(e);
    return SlotState::kFailed;
  };
  if (stopped()) return failed(Error(ErrorCode::kCancelled, where + ": cancelled"));
  auto src = store_.open(segment_key(key_, slot.index), fetch_ctx_);
  if (!src && src.error().code() == ErrorCode::kNotFound) return SlotState::kAbsent;
  if (!src) return failed(src.error().wrap(where));

  // Until the segment size is known (the first segment followed), up to
  // the largest a segment may be, growing as needed.
  const std::size_t cap = static_cast<std::size_t>(segment_size > 0 ? segment_size : kMaxSegmentSize) + kTrailerRoom;
  auto& buffer = slot.buffer;
  if (segment_size > 0) buffer.reserve(cap);
  if (buffer.size() < buffer.capacity()) buffer.resize(buffer.capacity());
  if (buffer.empty()) buffer.resize(std::size_t{1} << 20);
  std::size_t n = 0;
  for (;;) {
    if (n == buffer.size()) {
      if (n > cap) return failed(refused(where, "is larger than a segment may be"));
      const std::size_t want = std::min(cap + 1, std::max(n * 2, n + (std::size_t{1} << 20)));
      buffer.reserve(want);  // exactly: no doubling past the segment
      buffer.resize(want);
    }
    auto got = (*src)->read(std::span(buffer).subspan(n));
    if (!got) return failed(got.error().wrap(where));
    if (*got == 0) break;
    n += *got;
    if (stopped()) return failed(Error(ErrorCode::kCancelled, where + ": cancelled"));
  }
  if (n > cap) return failed(refused(where, "is larger than a segment may be"));
  auto parsed = parse_segment(std::span(buffer).first(n), mac_keys_, where);
  if (!parsed) return failed(parsed.error());
  slot.object_size = n;
  slot.parsed = std::move(*parsed);
  return SlotState::kReady;
}

void SegmentReader::stop() {
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    workers.swap(workers_);
  }
  fetch_ctx_.cancel->cancel();
  work_.notify_all();
  for (auto& t : workers) t.join();
  std::lock_guard lock(mu_);
  slots_.clear();
  free_.clear();
}

// The stream is broken: what is fetched ahead is stopped (awaited only by
// the destructor, so that read() returns at once).
Error SegmentReader::fail(Error e) {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  fetch_ctx_.cancel->cancel();
  work_.notify_all();
  failed_ = e;
  return e;
}

Status SegmentReader::fetch_next() {
  const std::string where = this->where(index_);
  ParsedSegment parsed;
  {
    std::unique_lock lock(mu_);
    // The segment just returned: its buffer serves a later one.
    if (buffer_.capacity() > 0) free_.push_back(std::move(buffer_));
    buffer_ = {};
    pos_ = end_ = 0;
    std::optional<Clock::time_point> absent_since;
    for (;;) {
      top_up(true);
      if (slots_.empty()) {
        lock.unlock();
        return fail(Error(ErrorCode::kInternal, where + ": nothing left to fetch"));
      }
      Slot& front = slots_.front();
      while (front.state == SlotState::kQueued || front.state == SlotState::kFetching) {
        ready_.wait_for(lock, std::chrono::milliseconds(50));
        if (ctx_.cancelled()) {
          lock.unlock();
          return fail(Error(ErrorCode::kCancelled, where + ": cancelled"));
        }
      }
      if (front.state == SlotState::kReady) break;
      if (front.state == SlotState::kFailed) {
        Error e = *front.error;
        lock.unlock();
        return fail(std::move(e));
      }
      // Absent.
      if (!follow_) {
        lock.unlock();
        return fail(refused(where, "is missing (the archive was truncated or partly deleted)"));
      }
      Clock& clock = *follow_->clock;
      if (!absent_since) absent_since = clock.now();
      const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - *absent_since);
      if (waited >= follow_->timeout) {
        lock.unlock();
        return fail(Error(ErrorCode::kDeadlineExceeded,
                          where + " did not appear within " + seconds(follow_->timeout) +
                              ": the writer stopped or failed, or the archive was truncated; the stream is "
                              "incomplete and must not be used"));
      }
      lock.unlock();
      clock.sleep_for(std::min(follow_->poll_interval, follow_->timeout - waited));
      if (ctx_.cancelled()) return fail(Error(ErrorCode::kCancelled, where + ": cancelled while waiting for it"));
      lock.lock();
      slots_.front().state = SlotState::kQueued;  // look again
      work_.notify_all();
    }
    Slot& front = slots_.front();
    buffer_ = std::move(front.buffer);
    parsed = std::move(front.parsed);
    slots_.pop_front();
    // Segments ahead that were not there yet may be by now.
    bool requeued = false;
    for (auto& s : slots_) {
      if (s.state == SlotState::kAbsent) {
        s.state = SlotState::kQueued;
        requeued = true;
      }
    }
    if (requeued) work_.notify_all();
  }

  const SegmentTrailer& t = parsed.trailer;
  auto st = check(t, where);
  if (!st) return fail(st.error());
  const auto data = std::span<const std::byte>(buffer_).first(parsed.data_size);
  if (follow_) {
    whole_.update(data);
    if (t.totals && to_hex(whole_.finish()) != t.totals->stored_sha256) {
      return fail(refused(where, "ends an archive whose SHA-256 differs from its stated total"));
    }
  }
  size_ += parsed.data_size;
  pos_ = 0;
  end_ = parsed.data_size;
  ++index_;
  std::lock_guard lock(mu_);
  if (!first_) {
    first_ = t;
    segment_size_ = t.segment_size;
  }
  if (t.totals) {
    totals_ = t.totals;
    // Nothing more to read: stop what is fetched or polled ahead.
    stopping_ = true;
    fetch_ctx_.cancel->cancel();
    work_.notify_all();
    return Ok{};
  }
  top_up(false);
  return Ok{};
}

Result<SegmentTrailer> SegmentReader::first() {
  if (failed_) return *failed_;
  if (!first_) {
    auto st = fetch_next();
    if (!st) return st.error();
  }
  return *first_;
}

Result<std::size_t> SegmentReader::read(std::span<std::byte> buffer) {
  if (failed_) return *failed_;
  if (done_ || buffer.empty()) return std::size_t{0};
  while (pos_ == end_) {
    if (totals_) {
      done_ = true;
      return std::size_t{0};
    }
    auto st = fetch_next();
    if (!st) return st.error();
  }
  const std::size_t n = std::min(buffer.size(), end_ - pos_);
  std::memcpy(buffer.data(), buffer_.data() + pos_, n);
  pos_ += n;
  return n;
}

}  // namespace wscp::store
