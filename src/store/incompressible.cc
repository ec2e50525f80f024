#include "store/incompressible.h"

#include <algorithm>
#include <cstdint>

#include <zstd.h>

namespace wscp::store {
namespace {

constexpr std::size_t kProbeSlices = 4;
constexpr std::size_t kProbeSlice = 8 << 10;
// Level 1 on 8 KiB slices compresses less than level 3 on the whole stream,
// so the bar is low: a slice set that saves under 1/16 is stored raw.
constexpr std::size_t kMinSavingDivisor = 16;

// RFC 8878, 3.1.1: magic, then a frame header descriptor with no content
// size, no checksum and no dictionary (0), then a window descriptor for a
// 128 KiB window (exponent 7: 2^(10+7)), the largest raw block.
constexpr std::uint8_t kRawFrameHeader[] = {0x28, 0xB5, 0x2F, 0xFD, 0x00, 7 << 3};
constexpr std::size_t kMaxBlock = 128 << 10;
constexpr std::uint32_t kRawBlock = 0;  // Block_Type 0

ZSTD_CCtx* cctx_of(void* p) { return static_cast<ZSTD_CCtx*>(p); }

}  // namespace

CompressibilityProbe::CompressibilityProbe()
    : cctx_(ZSTD_createCCtx()), out_(ZSTD_compressBound(kProbeSlice)) {
  if (cctx_ != nullptr) ZSTD_CCtx_setParameter(cctx_of(cctx_), ZSTD_c_compressionLevel, 1);
}

CompressibilityProbe::~CompressibilityProbe() { ZSTD_freeCCtx(cctx_of(cctx_)); }

bool CompressibilityProbe::incompressible(std::span<const std::byte> window) {
  if (cctx_ == nullptr) return false;  // no probe: compress, as without one
  const std::size_t slice = std::min(kProbeSlice, window.size());
  if (slice == 0) return false;
  const std::size_t slices = std::min(kProbeSlices, window.size() / slice);
  const std::size_t stride = slices > 1 ? (window.size() - slice) / (slices - 1) : 0;
  std::size_t in = 0;
  std::size_t out = 0;
  for (std::size_t i = 0; i < slices; ++i) {
    auto piece = window.subspan(i * stride, slice);
    std::size_t n = ZSTD_compress2(cctx_of(cctx_), out_.data(), out_.size(), piece.data(), piece.size());
    if (ZSTD_isError(n)) return false;
    in += piece.size();
    out += std::min(n, piece.size());
  }
  return in - out < in / kMinSavingDivisor;
}

Status write_raw_zstd_frame(std::span<const std::byte> data, ByteSink& out) {
  auto st = out.write(std::as_bytes(std::span(kRawFrameHeader)));
  // A frame holds at least one block; an empty window makes one empty last block.
  std::size_t pos = 0;
  while (st) {
    const std::size_t size = std::min(kMaxBlock, data.size() - pos);
    const bool last = pos + size == data.size();
    const std::uint32_t header = static_cast<std::uint32_t>(size) << 3 | kRawBlock << 1 | (last ? 1u : 0u);
    const std::uint8_t block_header[] = {static_cast<std::uint8_t>(header), static_cast<std::uint8_t>(header >> 8),
                                         static_cast<std::uint8_t>(header >> 16)};
    st = out.write(std::as_bytes(std::span(block_header)));
    if (st) st = out.write(data.subspan(pos, size));
    pos += size;
    if (last) break;
  }
  return st;
}

}  // namespace wscp::store
