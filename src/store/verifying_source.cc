#include "store/verifying_source.h"

#include <algorithm>
#include <cstring>

namespace wscp::store {

VerifyingSource::VerifyingSource(ByteSource& upstream, StreamDigests expected, std::string what)
    : upstream_(upstream), expected_(std::move(expected)), what_(std::move(what)), tracker_(expected_.part_size) {}

Error VerifyingSource::mismatch(const std::string& detail) const {
  return Error(ErrorCode::kIntegrity, what_ + ": " + detail +
                                          "; the stored data was altered or damaged and must not be used "
                                          "(restore from another checkpoint)");
}

Result<std::size_t> VerifyingSource::read(std::span<std::byte> buffer) {
  if (done_) return std::size_t{0};
  auto n = upstream_.read(buffer);
  if (!n) return n.error();
  if (*n == 0) {
    auto got = tracker_.finish();
    if (got.size != expected_.size) {
      return mismatch("size is " + std::to_string(got.size) + " bytes, the manifest says " +
                      std::to_string(expected_.size) + (got.size < expected_.size ? " (truncated)" : ""));
    }
    if (got.sha256 != expected_.sha256) return mismatch("SHA-256 differs from the manifest");
    if (expected_.part_size != 0 && got.parts != expected_.parts) return mismatch("a part's SHA-256 differs");
    done_ = true;
    return std::size_t{0};
  }
  if (tracker_.size() + *n > expected_.size) {
    return mismatch("more bytes than the " + std::to_string(expected_.size) + " the manifest records");
  }
  std::string bad;
  tracker_.update(buffer.first(*n), [&](std::size_t index, const std::string& hex) {
    if (bad.empty() && (index >= expected_.parts.size() || expected_.parts[index] != hex)) {
      bad = "part " + std::to_string(index + 1) + " has a SHA-256 that differs from the manifest";
    }
  });
  if (!bad.empty()) return mismatch(bad);
  return *n;
}

HoldbackSource::HoldbackSource(ByteSource& upstream, std::size_t holdback)
    : upstream_(upstream), ring_(std::max<std::size_t>(holdback * 2, 64 * 1024)), holdback_(holdback) {}

Result<std::size_t> HoldbackSource::read(std::span<std::byte> buffer) {
  if (buffer.empty()) return std::size_t{0};
  // Fill until more than holdback_ bytes are waiting, or the upstream ended.
  while (!upstream_done_ && count_ <= holdback_) {
    std::size_t tail = (begin_ + count_) % ring_.size();
    std::size_t room = std::min(ring_.size() - count_, ring_.size() - tail);
    auto n = upstream_.read(std::span(ring_).subspan(tail, room));
    if (!n) return n.error();
    if (*n == 0) upstream_done_ = true;
    count_ += *n;
  }
  std::size_t releasable = upstream_done_ ? count_ : count_ - holdback_;
  std::size_t contiguous = std::min(releasable, ring_.size() - begin_);
  std::size_t n = std::min(buffer.size(), contiguous);
  std::memcpy(buffer.data(), ring_.data() + begin_, n);
  begin_ = (begin_ + n) % ring_.size();
  count_ -= n;
  return n;
}

}  // namespace wscp::store
