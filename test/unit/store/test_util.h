#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "common/memory_stream.h"
#include "common/stream.h"
#include "store/crypto.h"

namespace wscp::store::testing {

// A source of n bytes that look like a tar of mixed content: compressible
// runs and random blocks, deterministic per seed.
class PatternSource : public ByteSource {
 public:
  PatternSource(std::uint64_t size, std::uint32_t seed = 1) : left_(size), rng_(seed) {}
  Result<std::size_t> read(std::span<std::byte> buffer) override {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, buffer.size()));
    for (std::size_t i = 0; i < n; ++i) {
      if (pos_ % 8192 == 0) random_block_ = rng_() % 3 == 0;
      buffer[i] = static_cast<std::byte>(random_block_ ? rng_() & 0xFF : (pos_ / 97) & 0xFF);
      ++pos_;
    }
    left_ -= n;
    return n;
  }

 private:
  std::uint64_t left_;
  std::uint64_t pos_ = 0;
  std::mt19937 rng_;
  bool random_block_ = false;
};

using wscp::StringSink;
using wscp::StringSource;

// Reads a source to its end or its first error.
inline Result<std::string> read_all(ByteSource& src, std::size_t block = 100'003) {
  std::string out;
  std::vector<std::byte> buf(block);
  for (;;) {
    auto n = src.read(buf);
    if (!n) return n.error();
    if (*n == 0) return out;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
}

inline std::string pattern(std::uint64_t size, std::uint32_t seed = 1) {
  PatternSource src(size, seed);
  return *read_all(src);
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() / ("wscp-store-test-" + random_hex(6));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace wscp::store::testing
