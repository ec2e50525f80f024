#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/fake_clock.h"
#include "common/memory_stream.h"
#include "podman/engine.h"
#include "podman/fake_podman_client.h"

namespace wscp::testing {

// Archives kept in memory by name: what a node dumped, for another to read.
class MemoryArchives {
 public:
  std::map<std::string, std::string> objects;

  Result<std::unique_ptr<ByteSink>> create(const std::string& name, const OperationContext&) {
    return std::unique_ptr<ByteSink>(new Writer(*this, name));
  }
  Result<std::unique_ptr<ByteSource>> open(const std::string& name, const OperationContext&) {
    auto it = objects.find(name);
    if (it == objects.end()) return Error(ErrorCode::kNotFound, "no archive " + name);
    return std::unique_ptr<ByteSource>(new StringSource(it->second));
  }

 private:
  struct Writer final : ByteSink {
    Writer(MemoryArchives& o, std::string n) : owner(o), name(std::move(n)) {}
    Status write(std::span<const std::byte> d) override {
      data.append(reinterpret_cast<const char*>(d.data()), d.size());
      return Ok{};
    }
    Status close() override {
      owner.objects[name] = data;
      return Ok{};
    }
    MemoryArchives& owner;
    std::string name, data;
  };
};

// Two fake nodes (a: the source, b: the destination), engines on a fake
// clock, and archives in memory between them.
struct TwoNodes {
  FakePodman a, b;
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  static podman::EngineConfig config() {
    podman::EngineConfig c;
    c.soft_dirty_available = [] { return false; };
    return c;
  }
  podman::Engine source{a, config(), clock};
  podman::Engine destination{b, config(), clock};
  MemoryArchives spool;

  // How many nodes run a container of this name.
  int running_copies(const std::string& name) {
    int n = 0;
    for (FakePodman* node : {&a, &b}) {
      auto c = node->inspect_container(name);
      if (c.ok() && c->running()) ++n;
    }
    return n;
  }
};

}  // namespace wscp::testing
