#pragma once

#include <mutex>
#include <string>
#include <vector>

namespace wscp::store::s3 {

// Part-size buffers reused across parts or ranges. Allocating and freeing a
// fresh 16 MiB buffer per part makes the allocator keep freed ones around
// (per-thread arenas, a raised mmap threshold), so peak memory drifted above
// the parts actually in flight; reusing them keeps it at that.
class BufferPool {
 public:
  std::string acquire(std::size_t capacity) {
    std::string out;
    {
      std::lock_guard lock(mu_);
      if (!free_.empty()) {
        out = std::move(free_.back());
        free_.pop_back();
      }
    }
    out.clear();
    if (out.capacity() < capacity) {
      out = std::string();
      out.reserve(capacity);
    }
    return out;
  }
  void release(std::string buffer) {
    if (buffer.capacity() == 0) return;
    std::lock_guard lock(mu_);
    free_.push_back(std::move(buffer));
  }

 private:
  std::mutex mu_;
  std::vector<std::string> free_;
};

}  // namespace wscp::store::s3
