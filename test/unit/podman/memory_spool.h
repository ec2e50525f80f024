#pragma once

#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>

#include "common/operation.h"
#include "podman/archive_spool.h"

namespace wscp::testing {

// Archives kept in memory; close() can be made to fail (storage down).
class MemorySpool final : public podman::ArchiveSpool {
 public:
  std::map<std::string, std::string> objects;
  std::map<std::string, int> writes;  // completed writes per object
  bool fail_close = false;
  // Objects whose data fails verification at the end, as a damaged or
  // half-replaced object does in the archive store.
  std::set<std::string> corrupt;
  // Called when a writer is created (e.g. to let another node race it).
  std::function<void(const std::string&)> on_create;

  Result<std::unique_ptr<ByteSink>> create(const std::string& name, const OperationContext& ctx) override {
    if (ctx.cancelled()) return Error(ErrorCode::kCancelled, "cancelled");
    if (on_create) on_create(name);
    return std::unique_ptr<ByteSink>(new Writer(*this, name, false));
  }
  // Create-if-absent, decided when the writer closes (as a conditional
  // write is on a real store).
  Result<std::unique_ptr<ByteSink>> create_once(const std::string& name, const OperationContext& ctx) override {
    if (ctx.cancelled()) return Error(ErrorCode::kCancelled, "cancelled");
    if (on_create) on_create(name);
    return std::unique_ptr<ByteSink>(new Writer(*this, name, true));
  }
  Result<std::unique_ptr<ByteSource>> open(const std::string& name, const OperationContext& ctx) override {
    if (ctx.cancelled()) return Error(ErrorCode::kCancelled, "cancelled");
    auto it = objects.find(name);
    if (it == objects.end()) return Error(ErrorCode::kNotFound, "no object " + name);
    return std::unique_ptr<ByteSource>(new Reader(it->second, corrupt.count(name) > 0));
  }
  Result<bool> exists(const std::string& name) override { return objects.count(name) > 0; }
  std::string describe(const std::string& name) const override { return "memory:" + name; }

 private:
  struct Writer final : ByteSink {
    Writer(MemorySpool& s, std::string n, bool o) : spool(s), name(std::move(n)), once(o) {}
    Status write(std::span<const std::byte> d) override {
      data.append(reinterpret_cast<const char*>(d.data()), d.size());
      return Ok{};
    }
    Status close() override {
      if (spool.fail_close) return Error(ErrorCode::kUnavailable, "storage is down");
      if (once && spool.objects.count(name)) return Error(ErrorCode::kConflict, name + " exists already");
      spool.objects[name] = data;
      ++spool.writes[name];
      return Ok{};
    }
    MemorySpool& spool;
    std::string name, data;
    bool once = false;
  };
  struct Reader final : ByteSource {
    Reader(std::string d, bool c) : data(std::move(d)), corrupt(c) {}
    Result<std::size_t> read(std::span<std::byte> buf) override {
      std::size_t n = std::min(buf.size(), data.size() - pos);
      if (n == 0 && corrupt) return Error(ErrorCode::kIntegrity, "the object does not match its digest");
      std::memcpy(buf.data(), data.data() + pos, n);
      pos += n;
      return n;
    }
    std::string data;
    bool corrupt = false;
    std::size_t pos = 0;
  };
};

}  // namespace wscp::testing
