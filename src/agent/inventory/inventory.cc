#include "agent/inventory/inventory.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "podman/project.h"

namespace wscp::agent::inventory {

using nlohmann::json;

json to_json(const Workspace& w) {
  json containers = json::array();
  for (const auto& c : w.containers) containers.push_back({{"name", c.name}, {"id", c.id}, {"state", c.state}});
  json j{{"id", w.id}, {"primary", w.primary}, {"containers", containers}, {"running", w.running}};
  if (!w.project.empty()) j["project"] = w.project;
  if (w.memory_bytes) j["memoryBytes"] = *w.memory_bytes;
  if (!w.labels.empty()) j["labels"] = w.labels;
  return j;
}

json to_json(const Capacity& c) {
  json j{{"diskFreeBytes", c.disk_free_bytes}, {"workspacesRunning", c.workspaces_running}};
  if (c.memory_available_bytes) j["memoryAvailableBytes"] = *c.memory_available_bytes;
  return j;
}

Result<std::uint64_t> parse_mem_available(std::string_view meminfo) {
  std::istringstream in{std::string(meminfo)};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("MemAvailable:")) continue;
    std::istringstream fields(line.substr(13));
    std::uint64_t kib = 0;
    std::string unit;
    if (!(fields >> kib >> unit) || unit != "kB")
      return Error(ErrorCode::kInternal, "MemAvailable in /proc/meminfo is not \"<number> kB\": " + line);
    return kib * 1024;
  }
  return Error(ErrorCode::kUnsupported, "/proc/meminfo has no MemAvailable line (Linux 3.14 or later has one)");
}

namespace {

class RealProbe final : public SystemProbe {
 public:
  Result<std::string> meminfo() override {
    std::ifstream in("/proc/meminfo");
    if (!in) return Error(ErrorCode::kUnavailable, std::string("cannot read /proc/meminfo: ") + std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  Result<std::uint64_t> free_bytes(const std::string& path) override {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0)
      return Error(ErrorCode::kUnavailable, "statvfs " + path + ": " + std::strerror(errno));
    return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
  }
};

}  // namespace

std::unique_ptr<SystemProbe> make_system_probe() { return std::make_unique<RealProbe>(); }

std::optional<std::uint64_t> Inventory::memory_of(const Workspace& w) {
  if (!w.running) return std::nullopt;
  std::uint64_t total = 0;
  for (const auto& c : w.containers) {
    auto used = podman_.memory_usage(c.id);
    if (!used) return std::nullopt;  // a partial sum would misorder workspaces
    total += *used;
  }
  return total;
}

Result<std::vector<Workspace>> Inventory::workspaces() {
  auto all = podman_.list_containers("");
  if (!all) return all.error();
  std::vector<Workspace> out;
  for (const auto& c : *all) {
    auto label = c.labels.find(options_.workspace_label);
    if (label == c.labels.end() || label->second.empty()) continue;
    Workspace w;
    w.id = label->second;
    w.primary = c.name;
    w.labels = c.labels;
    if (auto p = c.labels.find(podman::kComposeProjectLabel); p != c.labels.end()) w.project = p->second;
    out.push_back(std::move(w));
  }
  for (auto& w : out) {
    for (const auto& c : *all) {
      const bool primary = c.name == w.primary;
      auto p = c.labels.find(podman::kComposeProjectLabel);
      const bool same_project = !w.project.empty() && p != c.labels.end() && p->second == w.project;
      if (primary || same_project) w.containers.push_back({c.name, c.id, c.state});
    }
    w.running = std::all_of(w.containers.begin(), w.containers.end(),
                            [](const WorkspaceContainer& c) { return c.state == "running"; });
    w.memory_bytes = memory_of(w);
  }
  std::sort(out.begin(), out.end(), [](const Workspace& a, const Workspace& b) { return a.id < b.id; });
  return out;
}

std::vector<std::string> Inventory::disk_paths() {
  if (!options_.disk_paths.empty()) return options_.disk_paths;
  auto host = podman_.info();
  const bool said = host.ok();
  return {said && !host->graph_root.empty() ? host->graph_root : "/var/lib/containers/storage",
          said && !host->image_copy_tmp_dir.empty() ? host->image_copy_tmp_dir : "/var/tmp"};
}

Result<Capacity> Inventory::capacity() {
  Capacity cap;
  if (auto text = probe_.meminfo(); text) {
    if (auto avail = parse_mem_available(*text); avail) cap.memory_available_bytes = *avail;
  }
  for (const auto& path : disk_paths()) {
    if (auto free = probe_.free_bytes(path); free) cap.disk_free_bytes[path] = *free;
  }
  auto ws = workspaces();
  if (!ws) return ws.error();
  cap.workspaces_running =
      static_cast<std::uint32_t>(std::count_if(ws->begin(), ws->end(), [](const Workspace& w) { return w.running; }));
  return cap;
}

}  // namespace wscp::agent::inventory
