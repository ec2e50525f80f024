#include "store/compression.h"

#include <algorithm>

#include <zstd.h>

namespace wscp::store {
namespace {

ZSTD_CCtx* cctx_of(void* p) { return static_cast<ZSTD_CCtx*>(p); }
ZSTD_DCtx* dctx_of(void* p) { return static_cast<ZSTD_DCtx*>(p); }

Error zstd_error(std::string_view what, std::size_t code) {
  return Error(ErrorCode::kInternal, std::string(what) + ": " + ZSTD_getErrorName(code));
}

}  // namespace

std::string_view to_string(Compression c) { return c == Compression::kZstd ? "zstd" : "none"; }

Result<Compression> parse_compression(std::string_view text) {
  if (text == "zstd") return Compression::kZstd;
  if (text == "none") return Compression::kNone;
  return Error(ErrorCode::kInvalidArgument,
               "unknown compression '" + std::string(text) + "': use 'zstd' or 'none'");
}

Result<std::unique_ptr<ZstdCompressSink>> ZstdCompressSink::make(ByteSink& next, const CompressionOptions& options) {
  if (options.level < ZSTD_minCLevel() || options.level > ZSTD_maxCLevel()) {
    return Error(ErrorCode::kInvalidArgument, "zstd level " + std::to_string(options.level) + " is out of range " +
                                                  std::to_string(ZSTD_minCLevel()) + ".." +
                                                  std::to_string(ZSTD_maxCLevel()));
  }
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  if (cctx == nullptr) return Error(ErrorCode::kInternal, "zstd: out of memory");
  std::unique_ptr<ZstdCompressSink> sink(new ZstdCompressSink(next, cctx, options.raw_window));
  std::size_t rc = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, options.level);
  if (ZSTD_isError(rc)) return zstd_error("zstd level", rc);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  if (options.workers > 0) {
    rc = ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, options.workers);
    // A libzstd built without threads refuses; compressing on the caller's
    // thread is still correct, only slower.
    if (!ZSTD_isError(rc) && options.job_size > 0) ZSTD_CCtx_setParameter(cctx, ZSTD_c_jobSize, options.job_size);
  }
  return sink;
}

ZstdCompressSink::ZstdCompressSink(ByteSink& next, void* cctx, std::size_t raw_window)
    : next_(next), cctx_(cctx), out_(ZSTD_CStreamOutSize()), raw_window_(raw_window) {
  if (raw_window_ > 0) {
    probe_ = std::make_unique<CompressibilityProbe>();
    window_.reserve(raw_window_);
  }
}

ZstdCompressSink::~ZstdCompressSink() { ZSTD_freeCCtx(cctx_of(cctx_)); }

Status ZstdCompressSink::pump(std::span<const std::byte> data, bool end) {
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  for (;;) {
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    std::size_t remaining =
        ZSTD_compressStream2(cctx_of(cctx_), &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(remaining)) return zstd_error("zstd compression", remaining);
    if (out.pos > 0) {
      auto st = next_.write(std::span(out_).first(out.pos));
      if (!st) return st;
    }
    bool finished = end ? remaining == 0 : in.pos == in.size;
    if (finished) return Ok{};
  }
}

Status ZstdCompressSink::write(std::span<const std::byte> data) {
  if (!probe_) return pump(data, false);
  while (!data.empty()) {
    const std::size_t take = std::min(raw_window_ - window_.size(), data.size());
    window_.insert(window_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
    data = data.subspan(take);
    if (window_.size() == raw_window_) {
      auto st = flush_window();
      if (!st) return st;
    }
  }
  return Ok{};
}

// A compressed frame stays open across compressible windows (so zstd's
// workers keep their parallelism and history); an incompressible window ends
// it and follows as a raw frame.
Status ZstdCompressSink::flush_window() {
  if (window_.empty()) return Ok{};
  Status st = Ok{};
  if (probe_->incompressible(window_)) {
    if (frame_open_) st = pump({}, true);
    frame_open_ = false;
    if (st) st = write_raw_zstd_frame(window_, next_);
    raw_bytes_ += window_.size();
  } else {
    st = pump(window_, false);
    frame_open_ = true;
  }
  wrote_frame_ = true;
  window_.clear();
  return st;
}

Status ZstdCompressSink::close() {
  auto st = flush_window();
  // An empty stream is still one (empty) frame.
  if (st && (frame_open_ || !wrote_frame_)) st = pump({}, true);
  if (!st) return st;
  return next_.close();
}

Result<std::unique_ptr<ZstdDecompressSource>> ZstdDecompressSource::make(ByteSource& upstream) {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  if (dctx == nullptr) return Error(ErrorCode::kInternal, "zstd: out of memory");
  return std::unique_ptr<ZstdDecompressSource>(new ZstdDecompressSource(upstream, dctx));
}

ZstdDecompressSource::ZstdDecompressSource(ByteSource& upstream, void* dctx)
    : upstream_(upstream), dctx_(dctx), in_(ZSTD_DStreamInSize()) {}

ZstdDecompressSource::~ZstdDecompressSource() { ZSTD_freeDCtx(dctx_of(dctx_)); }

Result<std::size_t> ZstdDecompressSource::read(std::span<std::byte> buffer) {
  if (done_ || buffer.empty()) return std::size_t{0};
  for (;;) {
    if (in_pos_ == in_size_ && !upstream_done_) {
      auto n = upstream_.read(in_);
      if (!n) return n.error();
      in_pos_ = 0;
      in_size_ = *n;
      if (*n == 0) upstream_done_ = true;
    }
    if (in_pos_ == in_size_ && upstream_done_) {
      if (frame_open_) {
        return Error(ErrorCode::kIntegrity,
                     "compressed archive ends inside a zstd frame (truncated); it must not be used");
      }
      done_ = true;
      return std::size_t{0};
    }
    ZSTD_inBuffer in{in_.data(), in_size_, in_pos_};
    ZSTD_outBuffer out{buffer.data(), buffer.size(), 0};
    std::size_t rc = ZSTD_decompressStream(dctx_of(dctx_), &out, &in);
    in_pos_ = in.pos;
    if (ZSTD_isError(rc)) {
      return Error(ErrorCode::kIntegrity,
                   std::string("compressed archive is damaged: ") + ZSTD_getErrorName(rc));
    }
    // rc == 0: a frame just ended (several frames may follow each other).
    frame_open_ = rc != 0;
    if (out.pos > 0) return out.pos;
  }
}

}  // namespace wscp::store
