#include "store/digests.h"

namespace wscp::store {

StreamDigests DigestTracker::finish() {
  StreamDigests out;
  out.size = size_;
  out.sha256 = to_hex(whole_.finish());
  out.part_size = part_size_;
  if (part_size_ != 0 && in_part_ != 0) {
    parts_.push_back(to_hex(part_.finish()));
    in_part_ = 0;
  }
  out.parts = std::move(parts_);
  parts_.clear();
  return out;
}

}  // namespace wscp::store
