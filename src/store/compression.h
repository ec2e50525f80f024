#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/stream.h"
#include "store/incompressible.h"

namespace wscp::store {

enum class Compression { kNone, kZstd };

std::string_view to_string(Compression c);
Result<Compression> parse_compression(std::string_view text);

struct CompressionOptions {
  Compression algorithm = Compression::kZstd;
  int level = 3;    // zstd level (1..19; negative = fast modes)
  int workers = 2;  // ZSTD_c_nbWorkers: compression threads beside the caller's
  // ZSTD_c_jobSize with workers: zstd keeps about (workers + 2) jobs of input
  // and output buffered, so this sets its memory (~70 MiB at the 8 MiB
  // default of level 3, ~35 MiB at 4 MiB) at a negligible cost in ratio.
  int job_size = 4 << 20;
  // Each window of this many bytes is probed first and stored raw when it
  // hardly compresses (see incompressible.h); 0 compresses everything.
  std::size_t raw_window = 1 << 20;
};

// Compresses what is written into a zstd stream pushed to `next`: runs of
// compressible windows as compressed frames, incompressible windows as raw
// frames between them. With workers > 0 zstd compresses on its own threads;
// memory stays bounded by zstd's job sizes and one window, not by the
// stream's length.
class ZstdCompressSink : public ByteSink {
 public:
  static Result<std::unique_ptr<ZstdCompressSink>> make(ByteSink& next, const CompressionOptions& options);
  ~ZstdCompressSink() override;

  Status write(std::span<const std::byte> data) override;
  Status close() override;

  // Bytes passed through as raw frames so far.
  std::uint64_t raw_bytes() const { return raw_bytes_; }

 private:
  ZstdCompressSink(ByteSink& next, void* cctx, std::size_t raw_window);
  Status pump(std::span<const std::byte> data, bool end);
  Status flush_window();

  ByteSink& next_;
  void* cctx_;  // ZSTD_CCtx
  std::vector<std::byte> out_;
  std::unique_ptr<CompressibilityProbe> probe_;  // null: compress everything
  std::vector<std::byte> window_;
  std::size_t raw_window_;
  bool frame_open_ = false;  // a compressed frame has input not yet ended
  bool wrote_frame_ = false;
  std::uint64_t raw_bytes_ = 0;
};

// Decompresses a zstd stream pulled from `upstream`. A stream that ends
// inside a frame is an error; one cut between two frames ends cleanly here
// (a stream is any number of frames), and the archive's plain size and
// SHA-256, checked after this stage, refuse it.
class ZstdDecompressSource : public ByteSource {
 public:
  static Result<std::unique_ptr<ZstdDecompressSource>> make(ByteSource& upstream);
  ~ZstdDecompressSource() override;

  Result<std::size_t> read(std::span<std::byte> buffer) override;

 private:
  ZstdDecompressSource(ByteSource& upstream, void* dctx);

  ByteSource& upstream_;
  void* dctx_;  // ZSTD_DCtx
  std::vector<std::byte> in_;
  std::size_t in_pos_ = 0;
  std::size_t in_size_ = 0;
  bool upstream_done_ = false;
  bool frame_open_ = false;
  bool done_ = false;
};

}  // namespace wscp::store
