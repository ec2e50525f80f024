#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/operation.h"
#include "common/stream.h"
#include "store/crypto.h"
#include "store/digests.h"
#include "store/object_store.h"
#include "store/segment.h"

namespace wscp::store {

struct SegmentWriterConfig {
  std::string archive_key;
  std::uint64_t segment_size = 8ull << 20;
  // Recorded in every trailer, so that a follower knows how to decode.
  Compression compression = Compression::kNone;
  std::optional<EncryptionInfo> encryption;
  // Authenticates the trailers; none: they carry only digests.
  std::optional<EncryptionKey> mac_key;
  // Sealed segments being committed at once, in the background, while the
  // next one fills (at least 1).
  unsigned uploads_in_flight = 4;
  // The plain stream's size and SHA-256, asked for at close() (the stages
  // before this sink have closed by then) for the last trailer.
  std::function<StreamDigests()> plain_totals;
};

// The last sink of an archive writer: cuts the stored bytes into segment
// objects (see segment.h), each committed as soon as it is full and more
// data follows, so a reader can follow the archive while it is written. A
// full segment is sealed when the next byte arrives or at close(), so the
// last segment is always marked as such, and an archive always has at least
// one segment.
//
// A segment fills in memory; a sealed one is committed with
// ObjectStore::put() (S3: one PUT, resent whole after a lost answer or a
// server restart) by one of `uploads_in_flight` background threads while
// the next one fills, and write() waits while that many are in flight.
// Memory: at most (uploads_in_flight + 1) segments, whatever the archive's
// size. Segments may become visible out of order, but the last one (with
// the totals) is committed only after every earlier one was, by close()
// itself: who sees the last segment can read them all. The first failed
// commit is returned by the next write() or close() (never a successful
// close()); other commits are then cancelled. Destroyed without a
// successful close(), it cancels and awaits its commits and removes the
// segments it wrote.
class SegmentWriter : public ByteSink {
 public:
  SegmentWriter(ObjectStore& store, SegmentWriterConfig config, const OperationContext& ctx);
  ~SegmentWriter() override;

  Status write(std::span<const std::byte> data) override;
  Status close() override;

  // Valid after a successful close(): the stored bytes, one part per segment
  // (an empty archive has one empty part).
  const StreamDigests& digests() const { return digests_; }
  std::uint64_t segments() const { return next_index_; }
  // The random id shared by this writing's segments.
  const std::string& upload() const { return upload_; }
  // The most sealed segments that were committing at once (for tests).
  std::size_t peak_in_flight() const;

 private:
  struct Upload {
    std::uint64_t index = 0;
    std::string bytes;  // data and trailer
  };

  Status open_segment();
  Status commit(const Upload& up, const OperationContext& ctx);
  Status append(std::span<const std::byte> data);
  Status write_trailer(bool last);
  Status submit();
  Status wait_all();
  // The first failed commit, or kCancelled once ctx was cancelled (which
  // then cancels the commits).
  std::optional<Error> failure();
  void commit_loop();
  void stop_uploads();
  std::string where(std::uint64_t index) const;

  ObjectStore& store_;
  SegmentWriterConfig config_;
  const OperationContext& ctx_;
  // What the segments' writers are made with: ctx_'s id, but a cancel token
  // of its own, so the writer can stop its commits (ctx_ cancelled, a
  // failure, destruction) without cancelling its caller's operation.
  OperationContext upload_ctx_;
  std::string upload_;
  std::string current_;            // the segment filling, when open_
  bool open_ = false;
  std::uint64_t next_index_ = 0;  // index of the segment after current_
  std::uint64_t in_segment_ = 0;
  std::uint64_t size_ = 0;
  Sha256 segment_hash_;
  Sha256 whole_hash_;
  std::vector<std::string> parts_;
  StreamDigests digests_;
  bool closed_ = false;
  bool committed_ = false;

  mutable std::mutex mu_;
  std::condition_variable work_;   // a sealed segment was queued, or stop
  std::condition_variable space_;  // a commit finished
  std::deque<Upload> queue_;
  std::vector<std::string> spare_;  // committed segments' buffers, for reuse
  std::size_t pending_ = 0;  // queued or committing
  std::size_t peak_pending_ = 0;
  bool stopping_ = false;
  std::optional<Error> error_;
  std::vector<std::thread> workers_;
};

}  // namespace wscp::store
