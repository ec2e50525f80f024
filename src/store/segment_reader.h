#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/operation.h"
#include "common/stream.h"
#include "store/crypto.h"
#include "store/manifest.h"
#include "store/object_store.h"
#include "store/segment.h"

namespace wscp::store {

// How a reader follows an archive that is still being written.
struct FollowOptions {
  // How often to look for the next segment while it is not there yet.
  std::chrono::milliseconds poll_interval{200};
  // Give up when the next segment has not appeared for this long (the
  // writer stopped, failed, or the archive was truncated).
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};
  std::shared_ptr<Clock> clock = system_clock();
};

// The stored bytes of a segmented archive, one segment object at a time:
// each is read whole, parsed and checked (parse_segment) and checked against
// what is expected of it before any of its bytes are returned. Any mismatch
// or missing segment is an error from read(), naming the segment; the end of
// the stream comes only after the last segment.
//
// Read-ahead: background threads fetch (read whole and parse_segment) up to
// `read_ahead` segments after the one being returned, so the store's latency
// overlaps with decoding; the checks that depend on order (index, writing,
// encoding, totals) are made in order as each segment's turn comes.
// Memory: read_ahead + 1 segment buffers (reused). Fetches stop when the
// reader is destroyed, ends or fails, and when ctx is cancelled.
class SegmentReader : public ByteSource {
 public:
  // The segments a manifest (already authenticated) names: each trailer must
  // match the archive object (key, writing, index, digest = the manifest's
  // part, encoding) and the last one its totals. A missing segment is an
  // integrity error.
  static std::unique_ptr<SegmentReader> for_archive(ObjectStore& store, const ArchiveObject& archive,
                                                    Keyring mac_keys, const OperationContext& ctx,
                                                    unsigned read_ahead = 3);
  // An archive that may still be written: waits for each segment (polling,
  // cancellable through ctx), requires every trailer to agree with the first
  // (writing, encoding, segment size) and with the expected encoding, and
  // ends only after the segment marked last, whose totals must match what
  // was read. Segments after the next one are fetched ahead once they exist
  // (a writer may commit them out of order); only the next one is polled.
  static std::unique_ptr<SegmentReader> follow(ObjectStore& store, std::string archive_key,
                                               Compression expected_compression, bool expect_encrypted,
                                               Keyring mac_keys, FollowOptions follow, const OperationContext& ctx,
                                               unsigned read_ahead = 3);
  ~SegmentReader() override;

  Result<std::size_t> read(std::span<std::byte> buffer) override;

  // Reads (waiting for it when following) the first segment and returns its
  // trailer: how the archive is encoded. Its data is then returned by read().
  Result<SegmentTrailer> first();
  // The last segment's totals once it was read.
  const std::optional<SegmentTotals>& totals() const { return totals_; }
  // The writing the segments belong to (SegmentTrailer::upload), once the
  // first segment was read.
  std::string upload() const { return first_ ? first_->upload : std::string(); }
  // Segment buffers allocated so far (for tests of the memory bound: at most
  // read_ahead + 1).
  std::size_t buffers() const;

 private:
  enum class SlotState { kQueued, kFetching, kReady, kAbsent, kFailed };
  struct Slot {
    std::uint64_t index = 0;
    SlotState state = SlotState::kQueued;
    std::vector<std::byte> buffer;
    std::size_t object_size = 0;
    ParsedSegment parsed;
    std::optional<Error> error;
  };

  SegmentReader(ObjectStore& store, std::string key, Keyring mac_keys, const OperationContext& ctx,
                unsigned read_ahead);
  std::string where(std::uint64_t index) const;
  Status fetch_next();
  Status check(const SegmentTrailer& t, const std::string& where) const;
  // Queues fetches for the segments to come, up to the read-ahead window
  // (at least the next one when `need_next`). Called with mu_ held.
  void top_up(bool need_next);
  void fetch_loop();
  // Reads and parses one segment object; returns the slot's new state.
  SlotState fetch(Slot& slot, std::uint64_t segment_size);
  void stop();
  Error fail(Error e);

  ObjectStore& store_;
  std::string key_;
  Keyring mac_keys_;
  const OperationContext& ctx_;
  // What the fetches use: ctx_'s id with a cancel token of its own, set when
  // ctx_ is cancelled or the reader stops.
  OperationContext fetch_ctx_;
  unsigned read_ahead_ = 3;
  std::optional<ArchiveObject> archive_;  // manifest mode
  std::optional<FollowOptions> follow_;    // follow mode
  Compression expected_compression_ = Compression::kNone;
  bool expect_encrypted_ = false;
  std::optional<SegmentTrailer> first_;
  std::uint64_t segment_size_ = 0;  // once known: every fetch's buffer

  std::vector<std::byte> buffer_;  // the segment being returned
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  std::uint64_t index_ = 0;  // of the next segment to return
  std::uint64_t size_ = 0;   // stored bytes so far
  Sha256 whole_;
  std::optional<SegmentTotals> totals_;
  bool done_ = false;
  std::optional<Error> failed_;  // the stream is broken: every read() says so

  // Shared with the fetching threads.
  mutable std::mutex mu_;
  std::condition_variable work_;   // a slot to fetch, or stop
  std::condition_variable ready_;  // a fetch finished
  std::deque<Slot> slots_;         // index_, index_ + 1, ... in order
  std::vector<std::vector<std::byte>> free_;  // buffers to reuse
  std::size_t buffers_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace wscp::store
