#pragma once

#include <algorithm>
#include <cstring>
#include <string>

#include "common/stream.h"

namespace wscp {

// Streams over memory, for small payloads (manifests, JSON) and tests.

class StringSource final : public ByteSource {
 public:
  explicit StringSource(std::string data) : data_(std::move(data)) {}
  Result<std::size_t> read(std::span<std::byte> buffer) override {
    std::size_t n = std::min(buffer.size(), data_.size() - pos_);
    std::memcpy(buffer.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  std::size_t pos_ = 0;
};

class StringSink final : public ByteSink {
 public:
  Status write(std::span<const std::byte> data) override {
    out.append(reinterpret_cast<const char*>(data.data()), data.size());
    return Ok{};
  }
  Status close() override {
    closed = true;
    return Ok{};
  }
  std::string out;
  bool closed = false;
};

// Discards what it is given.
class NullSink final : public ByteSink {
 public:
  Status write(std::span<const std::byte>) override { return Ok{}; }
  Status close() override { return Ok{}; }
};

}  // namespace wscp
