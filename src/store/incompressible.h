#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "common/stream.h"

namespace wscp::store {

// Process memory is often incompressible (keys, media, already-compressed
// heaps), and zstd spends about as long failing to compress it as it would
// compressing text. A compressing sink asks this of each window of input and
// stores the incompressible ones as they are.

// A probe that compresses a few small slices of a window at zstd's fastest
// regular level: about 3% of the window's bytes, so its cost is small beside
// compressing the window itself.
class CompressibilityProbe {
 public:
  CompressibilityProbe();
  ~CompressibilityProbe();
  CompressibilityProbe(const CompressibilityProbe&) = delete;
  CompressibilityProbe& operator=(const CompressibilityProbe&) = delete;

  // True when the slices shrink by less than about 6%: not worth the CPU.
  bool incompressible(std::span<const std::byte> window);

 private:
  void* cctx_;  // ZSTD_CCtx
  std::vector<std::byte> out_;
};

// Writes `data` to `out` as one zstd frame of raw (stored) blocks, as RFC
// 8878 defines them: any zstd decoder reads it, and consecutive frames form
// one stream, so raw and compressed frames can follow each other.
Status write_raw_zstd_frame(std::span<const std::byte> data, ByteSink& out);

}  // namespace wscp::store
