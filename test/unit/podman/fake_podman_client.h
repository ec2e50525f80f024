#pragma once

#include <chrono>
#include <functional>
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
  // With fail_checkpoint: the call fails (a timeout) while Podman carries on
  // dumping; the container stops after it has been inspected this often.
  std::optional<int> checkpoint_stops_after_inspections;
  int inspections = 0;
  std::optional<Error> fail_restore;
  // Only the Nth imported restore (1-based) fails with fail_restore.
  std::optional<int> fail_restore_at;
  std::optional<Error> fail_in_place;
  // fail_in_place applies this many times, then in-place restores work.
  std::optional<int> fail_in_place_times;
  std::optional<Error> fail_remove;
  std::optional<Error> fail_inspect;  // e.g. the service stopped answering
  bool failed_restore_leaves_container = true;
  std::string failed_restore_leaves_state = "created";
  // A restored container (import or in place) stops after it has been
  // inspected this many times: it died shortly after the restore.
  std::optional<int> restored_stops_after_inspections;
  // The client gives up on the restore (a timeout) while Podman carries on:
  // the container appears, running, after this many inspections.
  std::optional<int> restore_times_out_then_appears_after;
  // ... or Podman carries on and fails: it appears created, never running.
  bool late_restore_fails = false;
  // Called when a restore starts (e.g. to cancel the caller's context).
  std::function<void(const OperationContext&)> on_restore;
  std::optional<Error> fail_load_image;
  // Called when a checkpoint starts; an error fails it, nothing touched.
  std::function<Status()> on_checkpoint;
  int in_place_restores = 0;
  int imported_restores = 0;
  int removals = 0;
  std::chrono::milliseconds last_restore_timeout{0};
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
    return podman::HostInfo{"5.4.2", "5.4.2", runtime, runtime_version, "", ""};
  }

  Result<podman::ContainerInfo> inspect_container(const std::string& name) override {
    ++inspections;
    if (fail_inspect) return *fail_inspect;
    if (pending_ && (pending_->name == name || pending_->id == name) && --pending_countdown_ <= 0) {
      containers[pending_->name] = *pending_;
      pending_.reset();
    }
    if (auto* c = find(name)) {
      if (auto it = stop_countdown_.find(c->id); it != stop_countdown_.end() && --it->second < 0) {
        c->state = "exited";
        stop_countdown_.erase(it);
      }
      return *c;
    }
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
    if (fail_remove) return *fail_remove;
    auto* c = find(name);
    if (!c) return Error(ErrorCode::kNotFound, "no container " + name);
    ++removals;
    containers.erase(c->name);
    return Ok{};
  }

  Status rename_container(const std::string& name, const std::string& new_name) override {
    auto* c = find(name);
    if (!c) return Error(ErrorCode::kNotFound, "no container " + name);
    if (find(new_name)) return Error(ErrorCode::kConflict, "name " + new_name + " is in use");
    podman::ContainerInfo moved = *c;
    containers.erase(c->name);
    moved.name = new_name;
    containers[new_name] = moved;
    return Ok{};
  }

  Status checkpoint(const std::string& name, const podman::CheckpointOptions& o, ByteSink& archive,
                    const OperationContext&) override {
    if (on_checkpoint) {
      if (auto st = on_checkpoint(); !st.ok()) return st;
    }
    if (fail_checkpoint) {
      if (auto* c = find(name); c && checkpoint_stops_after_inspections) {
        stop_countdown_[c->id] = *checkpoint_stops_after_inspections;
      }
      return *fail_checkpoint;
    }
    auto* c = find(name);
    if (!c) return Error(ErrorCode::kNotFound, "no container " + name);
    std::string tar = TarBuilder().add("config.dump", nlohmann::json(*c).dump()).finish();
    if (!o.leave_running) c->state = "exited";
    return archive.write(std::as_bytes(std::span(tar.data(), tar.size())));
  }

  Result<std::string> restore(ByteSource& archive, const podman::RestoreOptions& o, const OperationContext& ctx,
                              std::chrono::milliseconds timeout) override {
    last_restore_timeout = timeout;
    if (on_restore) on_restore(ctx);
    if (ctx.cancelled()) return Error(ErrorCode::kCancelled, "restore: cancelled");
    ++imported_restores;
    NullSink discard;
    podman::ArchiveTap tap(discard, {"config.dump"});
    if (auto n = copy_stream(archive, tap); !n.ok()) return n.error();
    auto config = tap.member("config.dump");
    if (!config) return Error(ErrorCode::kRestoreFailed, "not a checkpoint archive");
    auto c = nlohmann::json::parse(*config).get<podman::ContainerInfo>();
    if (o.name) {
      c.name = *o.name;
      c.id = "id-" + c.name;  // a new name gives a new id
    }
    if (restore_times_out_then_appears_after) {
      c.state = late_restore_fails ? "created" : "running";
      pending_ = c;
      pending_countdown_ = *restore_times_out_then_appears_after;
      return Error(ErrorCode::kUnavailable, "restore: operation timed out after 600000 milliseconds");
    }
    if (fail_restore && (!fail_restore_at || *fail_restore_at == imported_restores)) {
      if (failed_restore_leaves_container) {
        c.state = failed_restore_leaves_state;
        containers[c.name] = c;
      }
      return *fail_restore;
    }
    c.state = "running";
    containers[c.name] = c;
    if (restored_stops_after_inspections) stop_countdown_[c.id] = *restored_stops_after_inspections;
    return c.id;
  }

  Result<std::string> restore_in_place(const std::string& name, const podman::RestoreOptions& o) override {
    ++in_place_restores;
    last_in_place_options = o;
    if (fail_in_place && (!fail_in_place_times || (*fail_in_place_times)-- > 0)) return *fail_in_place;
    auto* c = find(name);
    if (!c) return Error(ErrorCode::kNotFound, "no container " + name);
    c->state = "running";
    if (restored_stops_after_inspections) stop_countdown_[c->id] = *restored_stops_after_inspections;
    return c->id;
  }

  Result<std::optional<podman::ImageInfo>> find_image(const std::string& name) override {
    for (const auto& [n, id] : images) {
      if (n == name || id == name) return std::optional<podman::ImageInfo>(podman::ImageInfo{id, {n}});
    }
    return std::optional<podman::ImageInfo>();
  }

  // An image archive here is {"id", "names"}; loading it points every
  // name at the id, as a real load retags whatever the archive names.
  static std::string image_archive(const std::string& id, const std::vector<std::string>& names) {
    return nlohmann::json{{"id", id}, {"names", names}}.dump();
  }

  Status export_image(const std::string& name, ByteSink& out, const OperationContext&) override {
    ++image_exports;
    auto it = images.find(name);
    if (it == images.end()) return Error(ErrorCode::kNotFound, "no image " + name);
    std::string data = image_archive(it->second, {it->first});
    return out.write(std::as_bytes(std::span(data.data(), data.size())));
  }

  Result<std::vector<std::string>> load_image(ByteSource& in, const OperationContext&) override {
    if (fail_load_image) return *fail_load_image;
    StringSink text;
    if (auto n = copy_stream(in, text); !n.ok()) return n.error();
    auto j = nlohmann::json::parse(text.out, nullptr, false);
    if (!j.is_object()) return Error(ErrorCode::kInternal, "load image: not an image archive");
    std::vector<std::string> names = j.at("names").get<std::vector<std::string>>();
    for (const auto& n : names) images[n] = j.at("id").get<std::string>();
    return names;
  }
  int image_exports = 0;

  Result<std::vector<podman::ImageInfo>> list_images() override {
    std::map<std::string, podman::ImageInfo> by_id;
    for (const auto& [n, id] : images) {
      by_id[id].id = id;
      by_id[id].names.push_back(n);
    }
    std::vector<podman::ImageInfo> out;
    for (auto& [id, info] : by_id) out.push_back(info);
    return out;
  }
  Status tag_image(const std::string& id, const std::string& name) override {
    images[name] = id;
    return Ok{};
  }
  Status untag_image(const std::string& id, const std::string& name) override {
    auto it = images.find(name);
    if (it == images.end() || it->second != id) return Error(ErrorCode::kNotFound, name + ": tag not known");
    images.erase(it);
    return Ok{};
  }
  Status remove_image(const std::string& id) override {
    for (const auto& [n, i] : images) {
      if (i == id) return Error(ErrorCode::kConflict, "image " + id + " still has names");
    }
    return Ok{};
  }

  Result<bool> network_exists(const std::string& name) override { return networks.count(name) > 0; }
  Status create_network(const std::string& name) override {
    networks.insert(name);
    return Ok{};
  }
  Result<bool> volume_exists(const std::string& name) override { return volumes.count(name) > 0; }

 private:
  std::optional<podman::ContainerInfo> pending_;
  int pending_countdown_ = 0;
  std::map<std::string, int> stop_countdown_;  // by container id

  podman::ContainerInfo* find(const std::string& name_or_id) {
    for (auto& [n, c] : containers) {
      if (n == name_or_id || c.id == name_or_id) return &c;
    }
    return nullptr;
  }
};

}  // namespace wscp::testing
