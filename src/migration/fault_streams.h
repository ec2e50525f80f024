#pragma once

#include <cstdint>
#include <string>

#include "common/stream.h"
#include "migration/fault_points.h"

namespace wscp::migration {

// Passes bytes through and reaches a fault point once `after` bytes went by:
// how tests kill a process in the middle of a dump, an upload or an import.
class FaultSink final : public ByteSink {
 public:
  FaultSink(ByteSink& inner, const FaultPoints& faults, std::string point, std::uint64_t after)
      : inner_(inner), faults_(faults), point_(std::move(point)), after_(after) {}
  Status write(std::span<const std::byte> data) override {
    if (Status st = inner_.write(data); !st) return st;
    passed_ += data.size();
    if (!fired_ && passed_ >= after_) {
      fired_ = true;
      faults_.reach(point_);
    }
    return Ok{};
  }
  Status close() override { return inner_.close(); }

 private:
  ByteSink& inner_;
  const FaultPoints& faults_;
  std::string point_;
  std::uint64_t after_;
  std::uint64_t passed_ = 0;
  bool fired_ = false;
};

class FaultSource final : public ByteSource {
 public:
  FaultSource(ByteSource& inner, const FaultPoints& faults, std::string point, std::uint64_t after)
      : inner_(inner), faults_(faults), point_(std::move(point)), after_(after) {}
  Result<std::size_t> read(std::span<std::byte> buffer) override {
    auto n = inner_.read(buffer);
    if (!n) return n;
    passed_ += *n;
    if (!fired_ && passed_ >= after_) {
      fired_ = true;
      faults_.reach(point_);
    }
    return n;
  }

 private:
  ByteSource& inner_;
  const FaultPoints& faults_;
  std::string point_;
  std::uint64_t after_;
  std::uint64_t passed_ = 0;
  bool fired_ = false;
};

}  // namespace wscp::migration
