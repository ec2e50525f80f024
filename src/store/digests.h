#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "store/crypto.h"

namespace wscp::store {

// Size and SHA-256 of a byte stream, whole and per fixed-size part, so that a
// download can reject a bad part before the whole archive went past.
struct StreamDigests {
  std::uint64_t size = 0;
  std::string sha256;               // hex, whole stream
  std::uint64_t part_size = 0;      // 0: no per-part digests
  std::vector<std::string> parts;   // hex, one per part (last may be short)
};

class DigestTracker {
 public:
  explicit DigestTracker(std::uint64_t part_size = 0) : part_size_(part_size) {}

  // Feeds bytes; calls on_part(index, hex) whenever a part completes.
  template <typename OnPart>
  void update(std::span<const std::byte> data, OnPart&& on_part) {
    whole_.update(data);
    size_ += data.size();
    if (part_size_ == 0) return;
    while (!data.empty()) {
      std::uint64_t room = part_size_ - in_part_;
      std::size_t take = data.size() < room ? data.size() : static_cast<std::size_t>(room);
      part_.update(data.first(take));
      in_part_ += take;
      data = data.subspan(take);
      if (in_part_ == part_size_) {
        parts_.push_back(to_hex(part_.finish()));
        in_part_ = 0;
        on_part(parts_.size() - 1, parts_.back());
      }
    }
  }
  void update(std::span<const std::byte> data) {
    update(data, [](std::size_t, const std::string&) {});
  }

  std::uint64_t size() const { return size_; }
  // Completes the digests (a trailing short part is flushed).
  StreamDigests finish();

 private:
  std::uint64_t part_size_;
  Sha256 whole_;
  Sha256 part_;
  std::uint64_t size_ = 0;
  std::uint64_t in_part_ = 0;
  std::vector<std::string> parts_;
};

}  // namespace wscp::store
