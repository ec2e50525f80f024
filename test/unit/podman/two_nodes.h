#pragma once

#include <memory>
#include <string>

#include "common/fake_clock.h"
#include "podman/engine.h"
#include "podman/fake_podman_client.h"
#include "podman/memory_spool.h"
#include "podman/migration.h"

namespace wscp::testing {

// Two fake nodes (a: the source, b: the destination), engines on a fake
// clock, and an in-memory spool between them.
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
  MemorySpool spool;

  Result<podman::MigrationResult> migrate_ws(const std::string& name) {
    return podman::migrate(source, destination, spool, {name, {}, {}}, OperationContext{});
  }

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
