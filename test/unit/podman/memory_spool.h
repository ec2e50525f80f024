#pragma once

#include <map>
#include <memory>
#include <string>

#include "podman/archive_spool.h"

namespace wscp::testing {

// Archives kept in memory; close() can be made to fail (storage down).
class MemorySpool final : public podman::ArchiveSpool {
 public:
  std::map<std::string, std::string> objects;
  bool fail_close = false;

  Result<std::unique_ptr<ByteSink>> create(const std::string& name) override {
    return std::unique_ptr<ByteSink>(new Writer(*this, name));
  }
  Result<std::unique_ptr<ByteSource>> open(const std::string& name) override {
    auto it = objects.find(name);
    if (it == objects.end()) return Error(ErrorCode::kNotFound, "no object " + name);
    return std::unique_ptr<ByteSource>(new Reader(it->second));
  }
  Result<bool> exists(const std::string& name) override { return objects.count(name) > 0; }
  std::string describe(const std::string& name) const override { return "memory:" + name; }

 private:
  struct Writer final : ByteSink {
    Writer(MemorySpool& s, std::string n) : spool(s), name(std::move(n)) {}
    Status write(std::span<const std::byte> d) override {
      data.append(reinterpret_cast<const char*>(d.data()), d.size());
      return Ok{};
    }
    Status close() override {
      if (spool.fail_close) return Error(ErrorCode::kUnavailable, "storage is down");
      spool.objects[name] = data;
      return Ok{};
    }
    MemorySpool& spool;
    std::string name, data;
  };
  struct Reader final : ByteSource {
    explicit Reader(std::string d) : data(std::move(d)) {}
    Result<std::size_t> read(std::span<std::byte> buf) override {
      std::size_t n = std::min(buf.size(), data.size() - pos);
      std::memcpy(buf.data(), data.data() + pos, n);
      pos += n;
      return n;
    }
    std::string data;
    std::size_t pos = 0;
  };
};

}  // namespace wscp::testing
