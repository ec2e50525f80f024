#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/operation.h"
#include "common/stream.h"
#include "store/compression.h"
#include "store/encryption_key.h"
#include "store/manifest.h"
#include "store/object_store.h"
#include "store/segment_reader.h"

namespace wscp::store {

struct PipelineOptions {
  CompressionOptions compression;
  // The current key: encrypts what is written. None: archives stored in clear.
  std::optional<EncryptionKey> encryption_key;
  // Older keys of the keyring: they still decrypt (and verify) what they
  // wrote, found by the key id an archive records.
  std::vector<EncryptionKey> older_keys;
  // Per-part digests of a single-object archive (segmented: per segment).
  std::uint64_t digest_part_size = 16ull << 20;
  // Bytes a restore stream keeps back until the whole archive verified.
  std::size_t restore_holdback = 1 << 20;
  // Stored bytes per segment object (see segment.h).
  std::uint64_t segment_size = 8ull << 20;
  // Sealed segments a writer commits at once in the background while the
  // next one fills (1 to 64); memory: up to this many + 1 segments buffered
  // by the store's writers (S3).
  unsigned segment_uploads_in_flight = 4;
  // Segments a reader fetches ahead of the one it returns, each verified
  // when its turn comes (0 to 64; 0: one at a time); memory: this many + 1
  // segment buffers.
  unsigned segment_read_ahead = 3;
  // false: one object per archive, the layout of manifest version 1 (for
  // stores that older readers must read).
  bool segmented = true;
  // Authenticate segment trailers: mac_key signs what is written, every key
  // of mac_keys verifies what is read (with none, a trailer must carry no
  // MAC). CheckpointStore sets both from its manifest / encryption keys.
  std::optional<EncryptionKey> mac_key;
  Keyring mac_keys;

  // Every key, the current one first.
  Keyring keys() const;
};

// Takes the plain tar and stores it: SHA-256 of the plain bytes -> zstd ->
// AES-256-GCM chunks -> segment objects (SegmentWriter: SHA-256 per segment
// and whole, a trailer each), readable as each is written; or, with
// `segmented` off, SHA-256 (whole and per part) -> one object. close()
// commits the last segment (the object); result() then describes the
// archive for the manifest. Destroyed before close(): nothing is left.
class ArchiveWriter : public ByteSink {
 public:
  static Result<std::unique_ptr<ArchiveWriter>> make(ObjectStore& store, const std::string& key,
                                                     const PipelineOptions& options, const OperationContext& ctx,
                                                     std::string stage = "upload");
  ~ArchiveWriter() override;

  Status write(std::span<const std::byte> data) override;
  Status close() override;

  // Valid after a successful close().
  const ArchiveObject& result() const { return result_; }

 private:
  ArchiveWriter() = default;
  struct Chain;
  std::unique_ptr<Chain> chain_;
  ArchiveObject result_;
  bool closed_ = false;
};

// Opens a stored archive for restore: every stage verifies (each segment's
// trailer and its digest against the manifest's part, or a single object's
// digests per part and whole; GCM tags, zstd frame, plain digest), and the
// last `restore_holdback` bytes are released only once all of it verified.
// Any mismatch is an error from read(), never a clean end of stream. Memory:
// segment_read_ahead + 1 segments, the decoders' buffers and the holdback.
// `before_end`, when set, runs once after everything verified and before
// the held-back bytes are released; its error becomes the stream's.
Result<std::unique_ptr<ByteSource>> open_verified(ObjectStore& store, const ArchiveObject& archive,
                                                  const PipelineOptions& options, const OperationContext& ctx,
                                                  std::string stage = "download",
                                                  std::function<Status()> before_end = {});

// What a followed archive turned out to be, once its last segment verified:
// the writing its segments belong to and the totals that segment states.
struct FollowedWriting {
  std::string archive_key;
  std::string upload;
  SegmentTotals totals;
};
// Decides, after a followed archive verified and before its held-back tail
// is released, whether the stream may end cleanly (e.g. once a manifest
// exists that names this very writing). An error fails the stream instead.
using FollowGate = std::function<Status(const FollowedWriting&)>;

// Opens a segmented archive that may still be written (no manifest needed):
// waits for segment 0 (up to follow.timeout), then reads segment by segment
// as they appear, each verified alone (trailer MAC with options.mac_keys,
// digest, index, the same writing), decrypting with the key its trailer
// names and decompressing as it goes; the archive must be encoded as
// `options` would write it. The stream ends cleanly only after the segment
// marked last verified and the stored and plain totals it states match what
// was read; until then the last `restore_holdback` bytes are kept back. A
// segment that does not appear within follow.timeout is kDeadlineExceeded.
// `gate`, when set, runs once after everything verified and before the
// held-back bytes are released; its error becomes the stream's.
Result<std::unique_ptr<ByteSource>> open_following(ObjectStore& store, const std::string& archive_key,
                                                   const PipelineOptions& options, const FollowOptions& follow,
                                                   const OperationContext& ctx, std::string stage = "download",
                                                   FollowGate gate = {});

// What one archive being written or read with `options` holds in memory at
// most (the larger of the two), by the documented bounds above: segment
// buffers in flight or read ahead, zstd's jobs, the holdback, plus a margin
// for HTTP and crypto buffers. The agent reserves this much of its memory
// budget per checkpoint or restore.
std::uint64_t transfer_memory_bound(const PipelineOptions& options);

}  // namespace wscp::store
