#include "store/hashing_sink.h"

namespace wscp::store {

Status HashingSink::write(std::span<const std::byte> data) {
  tracker_.update(data);
  return next_.write(data);
}

Status HashingSink::close() {
  digests_ = tracker_.finish();
  return next_.close();
}

}  // namespace wscp::store
