#pragma once

#include <string>
#include <vector>

#include "common/stream.h"
#include "store/digests.h"

namespace wscp::store {

// Checks a stream against the digests recorded when it was written: each
// part as soon as it is complete, the size and the whole digest at the end.
// Any mismatch is an error (kIntegrity) instead of data or a clean end.
class VerifyingSource : public ByteSource {
 public:
  VerifyingSource(ByteSource& upstream, StreamDigests expected, std::string what);

  Result<std::size_t> read(std::span<std::byte> buffer) override;

 private:
  Error mismatch(const std::string& detail) const;

  ByteSource& upstream_;
  StreamDigests expected_;
  std::string what_;
  DigestTracker tracker_;
  bool done_ = false;
};

// Releases everything but the last `holdback` bytes of its upstream until the
// upstream ended cleanly, which (for a chain of verifying stages) means the
// whole stream verified. A consumer that forwards this stream to Podman thus
// never sees a complete archive unless every check passed.
class HoldbackSource : public ByteSource {
 public:
  HoldbackSource(ByteSource& upstream, std::size_t holdback);

  Result<std::size_t> read(std::span<std::byte> buffer) override;

 private:
  ByteSource& upstream_;
  std::vector<std::byte> ring_;  // FIFO of bytes read but not yet released
  std::size_t begin_ = 0;        // index of the oldest byte in ring_
  std::size_t count_ = 0;
  std::size_t holdback_;
  bool upstream_done_ = false;
};

}  // namespace wscp::store
