#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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
  // A restored container must start running within reattach_timeout, then
  // stay running for settle_time before it counts as restored (and before a
  // migration lets go of the source's copy); inspected every poll_interval.
  std::chrono::milliseconds reattach_timeout{30'000};
  std::chrono::milliseconds settle_time{5'000};
  std::chrono::milliseconds poll_interval{250};
  // A restore call (upload and Podman's restore) may take restore_floor plus
  // the archive's size at restore_bytes_per_second, a conservative rate
  // (measured: about 60 MiB/s for the whole restore leg). The same bound,
  // but never less than reattach_timeout, applies again to waiting for
  // Podman's own outcome after the call ended without one.
  std::chrono::milliseconds restore_floor{120'000};
  std::uint64_t restore_bytes_per_second = 16ull << 20;
  // After such a call, a container that stays in one non-running state this
  // long is taken as Podman's failure.
  std::chrono::milliseconds outcome_grace{2'000};
  // Restoring in place is retried this many times on a transient error.
  int in_place_attempts = 3;
};

// The bound on one restore call for an archive of this size (0: unknown,
// bounded as a large one).
std::chrono::milliseconds restore_deadline(const EngineConfig& config, std::uint64_t archive_bytes);

// What the caller knows about a restore beyond Podman's options.
struct RestoreHints {
  std::uint64_t archive_bytes = 0;  // the archive's size, 0 when unknown (deadlines)
  // Wait until the container has settled (or only until it runs: the caller
  // settles several containers together with settle()).
  bool settle = true;
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

  // Restores an archive and reattaches the workspace (settled, see
  // EngineConfig). On failure nothing the attempt created is left behind.
  //
  // When the call ends without Podman's answer (a timeout, the caller's
  // cancellation, a broken connection) after Podman was handed the whole
  // archive, Podman may still be restoring: its own outcome is awaited (the
  // container's state, polled within its own deadline) before anything is
  // removed or reported. Any other error promises that nothing the attempt
  // made runs here; kDeadlineExceeded means that could not be established
  // (Podman did not answer in time, or what the attempt made runs and could
  // not be removed): a copy may run here, so the caller must not start the
  // workspace elsewhere.
  Result<Workspace> restore(ByteSource& archive, const ContainerInfo& facts, const RestoreOptions& options,
                            const OperationContext& ctx, const RestoreHints& hints = {});

  // Restores a container in place from the checkpoint Podman kept
  // (keep=true), retrying on transient errors; a container that already
  // runs again is only reattached.
  Result<Workspace> restore_in_place(const ContainerInfo& facts, const RestoreOptions& options);

  // Brings back the stopped container `facts` (its kept checkpoint unusable)
  // from its archive without giving it up first: the archive is restored
  // beside it under a temporary name, and only once that copy has settled
  // is the stopped one removed and the new one given its name. On failure
  // the stopped container is left as it was. Not possible for a checkpoint
  // with established TCP connections (they restore only under the
  // container's own id, which the stopped container holds): kUnsupported.
  Result<Workspace> restore_replacing(ByteSource& archive, const ContainerInfo& facts, const RestoreOptions& options,
                                      const OperationContext& ctx, const RestoreHints& hints = {});

  // Waits until every container has run for the settle time; an error names
  // the first one that stopped.
  Status settle(const std::vector<Workspace>& restored);

  Result<bool> has_image(const ContainerInfo& facts);

  // Refuses, before anything happens, what checkpoint() cannot do with this
  // container and these options: not running, Podman-level dependencies,
  // pre-copy without soft-dirty tracking.
  Status check_checkpointable(const ContainerInfo& facts, const CheckpointOptions& options);

  // Inspects until the container is running, checks that its workspace
  // label says expected_workspace_id (when one is expected), then, with
  // settle, until it has stayed running for the settle time.
  Result<Workspace> reattach(const std::string& container, const std::string& expected_workspace_id,
                             bool settle = true);
  // Polls for Podman's own outcome of a restore whose call ended without
  // one (or whose caller died after sending the whole archive): the
  // container's id when it runs, empty when Podman failed.
  Result<std::string> await_outcome(const std::string& container, std::uint64_t archive_bytes);

 private:
  Status remove_leftover(const std::string& name, const ContainerInfo& facts, const RestoreOptions& options);
  // After a checkpoint call that failed, Podman may still be dumping (it
  // holds the container meanwhile): waits until the container answers in
  // one state for outcome_grace, so that whoever resumes it acts on what
  // Podman did, not on a state about to change. Best effort, bounded.
  void await_checkpoint_outcome(const std::string& container);
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
