#pragma once

#include "common/stream.h"
#include "store/digests.h"

namespace wscp::store {

// Passes bytes through to the next sink while measuring them. digests() is
// valid after a successful close().
class HashingSink : public ByteSink {
 public:
  HashingSink(ByteSink& next, std::uint64_t part_size = 0) : next_(next), tracker_(part_size) {}

  Status write(std::span<const std::byte> data) override;
  Status close() override;

  std::uint64_t bytes() const { return tracker_.size(); }
  const StreamDigests& digests() const { return digests_; }

 private:
  ByteSink& next_;
  DigestTracker tracker_;
  StreamDigests digests_;
};

}  // namespace wscp::store
