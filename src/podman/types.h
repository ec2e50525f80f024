#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"

namespace wscp::podman {

struct Mount {
  std::string type;         // "bind" or "volume"
  std::string name;         // volume name (volumes only)
  std::string source;       // host path
  std::string destination;  // path in the container
};

// What inspect tells about a container; also the facts a restore needs.
struct ContainerInfo {
  std::string id;
  std::string name;
  std::string state;  // "running", "exited", ...
  std::string image_id;
  std::string image_name;
  std::string oci_runtime;
  std::string pod;
  std::map<std::string, std::string> labels;
  std::vector<Mount> mounts;
  std::vector<std::string> networks;
  std::vector<std::string> dependencies;  // containers this one requires

  bool running() const { return state == "running"; }
};

struct ContainerSummary {
  std::string id;
  std::string name;
  std::string state;
  std::map<std::string, std::string> labels;
};

struct ImageInfo {
  std::string id;
  std::vector<std::string> names;
};

struct HostInfo {
  std::string podman_version;
  std::string api_version;
  std::string oci_runtime;          // e.g. "crun"
  std::string oci_runtime_version;  // full version text
  // Where Podman keeps images and containers, and where it stages image
  // copies and checkpoint archives; empty when it does not say.
  std::string graph_root;
  std::string image_copy_tmp_dir;
};

// Checkpoint CRIU statistics, in microseconds and pages (from stats-dump).
struct CheckpointStats {
  std::uint64_t freezing_time_us = 0;
  std::uint64_t frozen_time_us = 0;
  std::uint64_t memdump_time_us = 0;
  std::uint64_t memwrite_time_us = 0;
  std::uint64_t pages_scanned = 0;
  std::uint64_t pages_written = 0;
};

struct CheckpointOptions {
  bool leave_running = false;
  bool keep = false;
  bool tcp_established = false;
  bool file_locks = false;
  bool ignore_rootfs = false;
  bool pre_checkpoint = false;
  bool with_previous = false;
};

struct RestoreOptions {
  std::optional<std::string> name;  // a new name (new id and IP)
  bool ignore_static_ip = false;
  bool ignore_static_mac = false;
  bool tcp_established = false;
  bool file_locks = false;
  bool ignore_rootfs = false;
  bool ignore_volumes = false;
  bool keep = false;
  std::vector<std::string> publish_ports;  // "8080:80/tcp"
};

// JSON conversions for libpod's answers. Each fails with kInternal naming
// the field when libpod's answer does not have the expected shape.
Result<ContainerInfo> parse_container_inspect(const nlohmann::json& j);
Result<std::vector<ContainerSummary>> parse_container_list(const nlohmann::json& j);
// libpod's /containers/stats?stream=false answer for one container: its MemUsage.
Result<std::uint64_t> parse_memory_usage(const nlohmann::json& j);
Result<ImageInfo> parse_image_inspect(const nlohmann::json& j);
Result<std::vector<ImageInfo>> parse_image_list(const nlohmann::json& j);
Result<HostInfo> parse_host_info(const nlohmann::json& info);

void to_json(nlohmann::json& j, const Mount& m);
void from_json(const nlohmann::json& j, Mount& m);
void to_json(nlohmann::json& j, const ContainerInfo& c);
void from_json(const nlohmann::json& j, ContainerInfo& c);
void to_json(nlohmann::json& j, const CheckpointStats& s);

}  // namespace wscp::podman
