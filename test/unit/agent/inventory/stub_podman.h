#pragma once

#include <map>
#include <string>
#include <vector>

#include "agent/inventory/inventory.h"
#include "podman/podman_client.h"

namespace wscp::agent::testing {

// A Podman that only lists containers (or cannot be reached at all); every
// other call is refused.
class StubPodman final : public podman::PodmanClient {
 public:
  bool reachable = true;
  std::vector<podman::ContainerSummary> containers;
  std::map<std::string, std::uint64_t> memory;  // by container id; others: no figure
  podman::HostInfo host{"5.4.2", "5.4.2", "crun", "crun 1.21", "", ""};

  Result<podman::HostInfo> info() override {
    if (!reachable) return down();
    return host;
  }
  Result<std::vector<podman::ContainerSummary>> list_containers(const std::string& filter) override {
    if (!reachable) return down();
    if (!filter.empty()) return Error(ErrorCode::kInternal, "the stub lists everything only");
    return containers;
  }
  Result<std::uint64_t> memory_usage(const std::string& id) override {
    if (!reachable) return down();
    if (auto m = memory.find(id); m != memory.end()) return m->second;
    return Error(ErrorCode::kNotFound, "no statistics for " + id);
  }
  Result<podman::ContainerInfo> inspect_container(const std::string&) override { return refused(); }
  Result<bool> container_exists(const std::string&) override { return refused(); }
  Status remove_container(const std::string&, bool) override { return refused(); }
  Status rename_container(const std::string&, const std::string&) override { return refused(); }
  Status checkpoint(const std::string&, const podman::CheckpointOptions&, ByteSink&, const OperationContext&) override {
    return refused();
  }
  Result<std::string> restore(ByteSource&, const podman::RestoreOptions&, const OperationContext&,
                              std::chrono::milliseconds) override {
    return refused();
  }
  Result<std::string> restore_in_place(const std::string&, const podman::RestoreOptions&) override { return refused(); }
  Result<std::optional<podman::ImageInfo>> find_image(const std::string&) override { return refused(); }
  Status export_image(const std::string&, ByteSink&, const OperationContext&) override { return refused(); }
  Result<std::vector<std::string>> load_image(ByteSource&, const OperationContext&) override { return refused(); }
  Result<std::vector<podman::ImageInfo>> list_images() override { return refused(); }
  Status tag_image(const std::string&, const std::string&) override { return refused(); }
  Status untag_image(const std::string&, const std::string&) override { return refused(); }
  Status remove_image(const std::string&) override { return refused(); }
  Result<bool> network_exists(const std::string&) override { return refused(); }
  Status create_network(const std::string&) override { return refused(); }
  Result<bool> volume_exists(const std::string&) override { return refused(); }

 private:
  static Error down() { return Error(ErrorCode::kUnavailable, "cannot reach Podman at /nowhere.sock"); }
  static Error refused() { return Error(ErrorCode::kUnsupported, "not part of the stub"); }
};

// /proc/meminfo and statvfs, as the test sets them.
class StubProbe final : public inventory::SystemProbe {
 public:
  std::string meminfo_text = "MemTotal: 2048 kB\nMemAvailable: 1024 kB\n";
  std::map<std::string, std::uint64_t> free;
  Result<std::string> meminfo() override { return meminfo_text; }
  Result<std::uint64_t> free_bytes(const std::string& path) override {
    auto it = free.find(path);
    if (it == free.end()) return Error(ErrorCode::kUnavailable, "statvfs " + path + ": No such file or directory");
    return it->second;
  }
};

}  // namespace wscp::agent::testing
