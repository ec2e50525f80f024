#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/operation.h"
#include "common/result.h"
#include "common/stream.h"
#include "podman/podman_client.h"
#include "podman/types.h"

namespace wscp::podman {

struct EngineConfig {
  // The label whose value is a workspace's id.
  std::string workspace_label = "dev.containers.id";
  // libpod has no CRIU query: by default the OCI runtime's version text must
  // list +CRIU. Deployers who know better can assert it either way.
  enum class CriuProbe { kAuto, kAssumePresent, kAssumeAbsent };
  CriuProbe criu_probe = CriuProbe::kAuto;
  // Pre-copy needs the kernel's soft-dirty page tracking.
  std::function<bool()> soft_dirty_available;
  // Where this node's root filesystem is visible to the agent (bind-mount
  // sources are checked under it): "/" on a node, "/host" in a DaemonSet.
  std::filesystem::path host_root = "/";
  std::chrono::milliseconds reattach_timeout{30'000};
};

struct Capabilities {
  HostInfo host;
  bool checkpoint = false;
  bool pre_checkpoint = false;
  std::string why_not;  // set when checkpoint is false
};

// A workspace as it runs on one node.
struct Workspace {
  std::string id;  // the workspace label's value
  ContainerInfo container;
};

struct CheckpointResult {
  ContainerInfo facts;  // inspected just before the dump: what a restore needs
  std::optional<CheckpointStats> stats;
  std::uint64_t archive_bytes = 0;
  std::chrono::milliseconds duration{0};
};

// Checkpoint, restore and image shipping on one node, over its PodmanClient.
class Engine {
 public:
  Engine(PodmanClient& client, EngineConfig config, std::shared_ptr<Clock> clock = system_clock());

  PodmanClient& client() { return client_; }
  const EngineConfig& config() const { return config_; }

  Result<Capabilities> capabilities();

  // A container by name or id, or else by workspace id (label value).
  Result<Workspace> find_workspace(const std::string& ref);

  // Dumps a running container into archive (not closed: the caller decides
  // when it is complete). Options the node cannot honour are refused first.
  Result<CheckpointResult> checkpoint(const std::string& container, const CheckpointOptions& options,
                                      ByteSink& archive, const OperationContext& ctx);

  // Checks, before anything is created, that this node can restore a
  // container with these facts: runtime, networks (created when missing),
  // name, volumes, bind-mount sources and, unless told not to (the image may
  // still be on its way), the image.
  Status preflight(const ContainerInfo& facts, const RestoreOptions& options, bool check_image = true);

  // Restores an archive and reattaches the workspace. On failure nothing the
  // attempt created is left behind.
  Result<Workspace> restore(ByteSource& archive, const ContainerInfo& facts, const RestoreOptions& options,
                            const OperationContext& ctx);

  // Restores a container in place from the checkpoint Podman kept (keep=true).
  Result<Workspace> restore_in_place(const ContainerInfo& facts, const RestoreOptions& options);

  Result<bool> has_image(const ContainerInfo& facts);

  // Refuses, before anything happens, what checkpoint() cannot do with this
  // container and these options: not running, Podman-level dependencies,
  // pre-copy without soft-dirty tracking.
  Status check_checkpointable(const ContainerInfo& facts, const CheckpointOptions& options);

  // Inspects until the container is running and stable, then checks that
  // its workspace label says expected_workspace_id (when one is expected).
  Result<Workspace> reattach(const std::string& container, const std::string& expected_workspace_id);

 private:
  Status remove_leftover(const std::string& name, const ContainerInfo& facts, const RestoreOptions& options);
  std::string workspace_id_of(const ContainerInfo& c) const;

  PodmanClient& client_;
  EngineConfig config_;
  std::shared_ptr<Clock> clock_;
};

// Reads the kernel's soft-dirty support (CONFIG_MEM_SOFT_DIRTY) by clearing
// this process's soft-dirty bits, which fails where tracking is absent.
bool kernel_soft_dirty_available();

// "+CRIU" in crun's version text.
bool runtime_reports_criu(const HostInfo& host);

}  // namespace wscp::podman
