#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "podman/podman_client.h"

namespace wscp::agent::inventory {

struct WorkspaceContainer {
  std::string name;
  std::string id;
  std::string state;
};

// One workspace on the node: the container with the workspace label and,
// for a compose project, every container of the project.
struct Workspace {
  std::string id;       // the workspace label's value
  std::string project;  // the compose project, or ""
  std::string primary;  // the container carrying the workspace label
  std::vector<WorkspaceContainer> containers;
  bool running = false;  // every container runs
  // The running containers' memory together, when Podman reports it for
  // every one of them.
  std::optional<std::uint64_t> memory_bytes;
  std::map<std::string, std::string> labels;  // the primary container's
};

// The node's room for restores.
struct Capacity {
  std::optional<std::uint64_t> memory_available_bytes;  // MemAvailable
  std::map<std::string, std::uint64_t> disk_free_bytes;  // per directory
  std::uint32_t workspaces_running = 0;
};

nlohmann::json to_json(const Workspace& w);
nlohmann::json to_json(const Capacity& c);

// The machine's side of capacity: /proc/meminfo and statvfs.
class SystemProbe {
 public:
  virtual ~SystemProbe() = default;
  virtual Result<std::string> meminfo() = 0;
  virtual Result<std::uint64_t> free_bytes(const std::string& path) = 0;
};
std::unique_ptr<SystemProbe> make_system_probe();

// MemAvailable of /proc/meminfo's text, in bytes.
Result<std::uint64_t> parse_mem_available(std::string_view meminfo);

struct InventoryOptions {
  std::string workspace_label = "dev.containers.id";
  // Where Podman keeps images and containers, and where it stages archives;
  // empty: where Podman's /info says (graphRoot, imageCopyTmpDir), or its
  // defaults (/var/lib/containers/storage, /var/tmp) for what it leaves out.
  std::vector<std::string> disk_paths;
};

// What the API and the evacuation ask about the node's workspaces.
class NodeInventory {
 public:
  virtual ~NodeInventory() = default;
  virtual Result<std::vector<Workspace>> workspaces() = 0;
  virtual Result<Capacity> capacity() = 0;
};

// The node's workspaces as Podman lists them.
class Inventory final : public NodeInventory {
 public:
  Inventory(podman::PodmanClient& podman, SystemProbe& probe, InventoryOptions options)
      : podman_(podman), probe_(probe), options_(std::move(options)) {}

  // kUnavailable when Podman cannot be reached.
  Result<std::vector<Workspace>> workspaces() override;
  // Missing figures (an unreadable path) are left out, never guessed.
  Result<Capacity> capacity() override;

 private:
  std::optional<std::uint64_t> memory_of(const Workspace& w);

  std::vector<std::string> disk_paths();

  podman::PodmanClient& podman_;
  SystemProbe& probe_;
  InventoryOptions options_;
};

}  // namespace wscp::agent::inventory
