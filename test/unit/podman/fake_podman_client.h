#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "common/file_stream.h"
#include "common/memory_stream.h"
#include "podman/archive_tap.h"
#include "podman/podman_client.h"
#include "podman/tar_builder.h"

namespace wscp::testing {

// An in-memory node: containers, images and networks, with knobs that make
// each step fail. Its checkpoint archives are small tars that carry the
// container's facts, so a restore elsewhere recreates the same container.
class FakePodman final : public podman::PodmanClient {
 public:
  std::map<std::string, podman::ContainerInfo> containers;  // by name
  std::map<std::string, std::string> images;                // name -> id
  std::set<std::string> networks{"podman"};
  std::set<std::string> volumes;
  std::string runtime = "crun";
  std::string runtime_version = "crun version 1.21 +CRIU";

  std::optional<Error> fail_checkpoint;
  std::optional<Error> fail_restore;
  std::optional<Error> fail_in_place;
  bool failed_restore_leaves_container = true;
  int in_place_restores = 0;
  int imported_restores = 0;
  std::optional<podman::RestoreOptions> last_in_place_options;

  podman::ContainerInfo& add_running(const std::string& name, const std::string& workspace_id) {
    podman::ContainerInfo c;
    c.id = "id-" + name;
    c.name = name;
    c.state = "running";
    c.image_id = "img-1";
    c.image_name = "localhost/box:latest";
    c.oci_runtime = "crun";
    c.labels["dev.containers.id"] = workspace_id;
    c.networks = {"podman"};
    images[c.image_name] = c.image_id;
    return containers[name] = c;
  }

  Result<podman::HostInfo> info() override {
    return podman::HostInfo{"5.4.2", "5.4.2", runtime, runtime_version};
  }

  Result<podman::ContainerInfo> inspect_container(const std::string& name) override {
    if (auto* c = find(name)) return *c;
    return Error(ErrorCode::kNotFound, "no container " + name);
  }

  Result<std::vector<podman::ContainerSummary>> list_containers(const std::string& filter) override {
    std::vector<podman::ContainerSummary> out;
    for (const auto& [name, c] : containers) {
      for (const auto& [k, v] : c.labels) {
        if (filter == k + "=" + v) out.push_back({c.id, c.name, c.state, c.labels});
      }
    }
    return out;
  }

  Result<bool> container_exists(const std::string& name) override { return find(name) != nullptr; }

  Status remove_container(const std::string& name, bool) override {
    auto* c = find(name);
    if (!c) return Error(ErrorCode::kNotFound, "no container " + name);
    containers.erase(c->name);
    return Ok{};
  }

  Status checkpoint(const std::string& name, const podman::CheckpointOptions& o, ByteSink& archive,
                    const OperationContext&) override {
    if (fail_checkpoint) return *fail_checkpoint;
    auto* c = find(name);
    if (!c) return Error(ErrorCode::kNotFound, "no container " + name);
    std::string tar = TarBuilder().add("config.dump", nlohmann::json(*c).dump()).finish();
    if (!o.leave_running) c->state = "exited";
    return archive.write(std::as_bytes(std::span(tar.data(), tar.size())));
  }

  Result<std::string> restore(ByteSource& archive, const podman::RestoreOptions& o,
                              const OperationContext&) override {
    ++imported_restores;
    NullSink discard;
    podman::ArchiveTap tap(discard, {"config.dump"});
    if (auto n = copy_stream(archive, tap); !n.ok()) return n.error();
    auto config = tap.member("config.dump");
    if (!config) return Error(ErrorCode::kRestoreFailed, "not a checkpoint archive");
    auto c = nlohmann::json::parse(*config).get<podman::ContainerInfo>();
    if (o.name) c.name = *o.name;
    if (fail_restore) {
      if (failed_restore_leaves_container) {
        c.state = "created";
        containers[c.name] = c;
      }
      return *fail_restore;
    }
    c.state = "running";
    containers[c.name] = c;
    return c.id;
  }

  Result<std::string> restore_in_place(const std::string& name, const podman::RestoreOptions& o) override {
    ++in_place_restores;
    last_in_place_options = o;
    if (fail_in_place) return *fail_in_place;
    auto* c = find(name);
    if (!c) return Error(ErrorCode::kNotFound, "no container " + name);
    c->state = "running";
    return c->id;
  }

  Result<std::optional<podman::ImageInfo>> find_image(const std::string& name) override {
    for (const auto& [n, id] : images) {
      if (n == name || id == name) return std::optional<podman::ImageInfo>(podman::ImageInfo{id, {n}});
    }
    return std::optional<podman::ImageInfo>();
  }

  Status export_image(const std::string& name, ByteSink& out, const OperationContext&) override {
    auto it = images.find(name);
    if (it == images.end()) return Error(ErrorCode::kNotFound, "no image " + name);
    std::string data = it->first + "\n" + it->second;
    return out.write(std::as_bytes(std::span(data.data(), data.size())));
  }

  Result<std::vector<std::string>> load_image(ByteSource& in, const OperationContext&) override {
    StringSink text;
    if (auto n = copy_stream(in, text); !n.ok()) return n.error();
    auto newline = text.out.find('\n');
    images[text.out.substr(0, newline)] = text.out.substr(newline + 1);
    return std::vector<std::string>{text.out.substr(0, newline)};
  }

  Result<bool> network_exists(const std::string& name) override { return networks.count(name) > 0; }
  Status create_network(const std::string& name) override {
    networks.insert(name);
    return Ok{};
  }
  Result<bool> volume_exists(const std::string& name) override { return volumes.count(name) > 0; }

 private:
  podman::ContainerInfo* find(const std::string& name_or_id) {
    for (auto& [n, c] : containers) {
      if (n == name_or_id || c.id == name_or_id) return &c;
    }
    return nullptr;
  }
};

}  // namespace wscp::testing
