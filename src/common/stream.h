#pragma once

#include <cstddef>
#include <span>

#include "common/result.h"

namespace wscp {

// A pull-based byte stream. Archives are GiBs: everything that moves them is
// a chain of sources and sinks with bounded buffers, never a whole buffer.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to buffer.size() bytes into buffer. Returns 0 only at the end of
  // the stream; an error means the stream is broken and must not be trusted.
  virtual Result<std::size_t> read(std::span<std::byte> buffer) = 0;
};

// A push-based byte stream with an explicit end. Data is complete (durable,
// visible, verified — whatever the sink promises) only once close() returns
// success; a sink destroyed without close() aborts and leaves nothing behind.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status write(std::span<const std::byte> data) = 0;
  virtual Status close() = 0;
};

}  // namespace wscp
