#include "podman/engine.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "podman/archive_tap.h"

namespace wscp::podman {
namespace {

using namespace std::chrono_literals;

// Podman-managed paths inside the container's own storage are recreated by
// the restore; only user bind mounts must exist beforehand.
bool podman_managed(const Mount& m) {
  return m.source.find("/containers/storage/") != std::string::npos;
}

bool api_at_least_4(const std::string& version) {
  return !version.empty() && std::atoi(version.c_str()) >= 4;
}

}  // namespace

bool runtime_reports_criu(const HostInfo& host) {
  return host.oci_runtime_version.find("+CRIU") != std::string::npos;
}

bool kernel_soft_dirty_available() {
  const long page = sysconf(_SC_PAGESIZE);
  void* mem = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return false;
  bool available = false;
  int clear = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (clear >= 0 && pagemap >= 0 && write(clear, "4", 1) == 1) {
    static_cast<volatile char*>(mem)[0] = 1;  // dirty the page after clearing
    std::uint64_t entry = 0;
    off_t offset = static_cast<off_t>(reinterpret_cast<std::uintptr_t>(mem) / page * sizeof entry);
    if (pread(pagemap, &entry, sizeof entry, offset) == sizeof entry) available = (entry >> 55) & 1;
  }
  if (clear >= 0) close(clear);
  if (pagemap >= 0) close(pagemap);
  munmap(mem, page);
  return available;
}

Engine::Engine(PodmanClient& client, EngineConfig config, std::shared_ptr<Clock> clock)
    : client_(client), config_(std::move(config)), clock_(std::move(clock)) {
  if (!config_.soft_dirty_available) config_.soft_dirty_available = kernel_soft_dirty_available;
}

Result<Capabilities> Engine::capabilities() {
  auto host = client_.info();
  if (!host.ok()) return host.error();
  Capabilities caps;
  caps.host = *host;
  if (!api_at_least_4(host->api_version)) {
    caps.why_not = "Podman API " + host->api_version + " is older than 4.0; upgrade Podman";
  } else if (config_.criu_probe == EngineConfig::CriuProbe::kAssumeAbsent) {
    caps.why_not = "checkpointing is disabled by configuration (CRIU declared absent)";
  } else if (config_.criu_probe == EngineConfig::CriuProbe::kAuto && !runtime_reports_criu(*host)) {
    caps.why_not = "the OCI runtime " + host->oci_runtime +
                   " does not report CRIU support (+CRIU); install CRIU and a runtime built with it, "
                   "or assert it with the CRIU probe setting";
  } else {
    caps.checkpoint = true;
    caps.pre_checkpoint = config_.soft_dirty_available();
  }
  return caps;
}

std::string Engine::workspace_id_of(const ContainerInfo& c) const {
  auto it = c.labels.find(config_.workspace_label);
  return it == c.labels.end() ? std::string() : it->second;
}

Result<Workspace> Engine::find_workspace(const std::string& ref) {
  auto direct = client_.inspect_container(ref);
  if (direct.ok()) return Workspace{workspace_id_of(*direct), *direct};
  if (direct.error().code() != ErrorCode::kNotFound) return direct.error();

  auto matches = client_.list_containers(config_.workspace_label + "=" + ref);
  if (!matches.ok()) return matches.error();
  if (matches->empty()) {
    return Error(ErrorCode::kNotFound, "no container named '" + ref + "' and no workspace with " +
                                           config_.workspace_label + "=" + ref +
                                           " on this node; check the name with `podman ps -a`");
  }
  if (matches->size() > 1) {
    return Error(ErrorCode::kInvalidArgument,
                 "workspace " + ref + " has " + std::to_string(matches->size()) +
                     " containers; it is a project: checkpoint it as a project");
  }
  auto info = client_.inspect_container(matches->front().id);
  if (!info.ok()) return info.error();
  return Workspace{ref, *info};
}

Status Engine::check_checkpointable(const ContainerInfo& facts, const CheckpointOptions& options) {
  if (!facts.running()) {
    return Error(ErrorCode::kInvalidArgument, "container " + facts.name + " is " + facts.state +
                                                  ", not running: only running containers can be checkpointed");
  }
  if (!facts.dependencies.empty()) {
    return Error(ErrorCode::kUnsupported,
                 "container " + facts.name + " depends on other containers (" + facts.dependencies.front() +
                     (facts.dependencies.size() > 1 ? ", ..." : "") +
                     "), which libpod refuses to export; recreate it without Podman-level dependencies");
  }
  if (options.pre_checkpoint || options.with_previous) {
    auto caps = capabilities();
    if (!caps.ok()) return caps.error();
    if (!caps->pre_checkpoint) {
      return Error(ErrorCode::kUnsupported,
                   "pre-copy (preCheckpoint/withPrevious) needs the kernel's soft-dirty page tracking "
                   "(CONFIG_MEM_SOFT_DIRTY), which this node's kernel lacks; checkpoint without pre-copy");
    }
  }
  return Ok{};
}

Result<CheckpointResult> Engine::checkpoint(const std::string& container, const CheckpointOptions& options,
                                            ByteSink& archive, const OperationContext& ctx) {
  auto caps = capabilities();
  if (!caps.ok()) return caps.error();
  if (!caps->checkpoint) return Error(ErrorCode::kUnsupported, caps->why_not);
  auto facts = client_.inspect_container(container);
  if (!facts.ok()) return facts.error();
  if (auto s = check_checkpointable(*facts, options); !s.ok()) return s.error();

  ArchiveTap tap(archive, {"stats-dump"});
  auto started = clock_->now();
  ctx.report({"checkpoint", 0, std::nullopt, 0});
  if (auto s = client_.checkpoint(container, options, tap, ctx); !s.ok()) return s.error();
  if (!tap.saw_end()) {
    return Error(ErrorCode::kCheckpointFailed,
                 "the checkpoint archive of " + container + " ended before the tar end marker (" +
                     std::to_string(tap.bytes()) + " bytes): it is truncated");
  }
  CheckpointResult result;
  result.facts = std::move(*facts);
  result.archive_bytes = tap.bytes();
  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(clock_->now() - started);
  if (auto raw = tap.member("stats-dump")) result.stats = parse_stats_dump(*raw);
  ctx.report({"checkpoint", result.archive_bytes, result.archive_bytes, 0});
  return result;
}

Status Engine::preflight(const ContainerInfo& facts, const RestoreOptions& options, bool check_image) {
  if (options.name && options.tcp_established) {
    return Error(ErrorCode::kInvalidArgument,
                 "a new name gives the container a new IP, which breaks established TCP connections: "
                 "do not combine name with tcpEstablished");
  }
  auto host = client_.info();
  if (!host.ok()) return host.error();
  if (!facts.oci_runtime.empty() && host->oci_runtime != facts.oci_runtime) {
    return Error(ErrorCode::kUnsupported, "the checkpoint was made with OCI runtime " + facts.oci_runtime +
                                              " but this node runs " + host->oci_runtime +
                                              "; restore on a node with " + facts.oci_runtime);
  }
  auto image = check_image ? has_image(facts) : Result<bool>(true);
  if (!image.ok()) return image.error();
  if (!*image) {
    return Error(ErrorCode::kNotFound, "image " + facts.image_name + " (" + facts.image_id.substr(0, 12) +
                                           ") is not on this node; ship it before restoring");
  }
  const std::string name = options.name.value_or(facts.name);
  auto taken = client_.container_exists(name);
  if (!taken.ok()) return taken.error();
  if (*taken) {
    return Error(ErrorCode::kConflict, "a container named " + name +
                                           " already exists on this node; remove it or restore under a new name");
  }
  for (const auto& network : facts.networks) {
    auto present = client_.network_exists(network);
    if (!present.ok()) return present.error();
    if (!*present) {
      if (auto s = client_.create_network(network); !s.ok()) return s.error().wrap("creating network " + network);
    }
  }
  for (const auto& m : facts.mounts) {
    if (m.type == "volume" && !options.ignore_volumes) {
      auto clash = client_.volume_exists(m.name);
      if (!clash.ok()) return clash.error();
      if (*clash) {
        return Error(ErrorCode::kConflict, "volume " + m.name +
                                               " already exists on this node and the archive brings its own; "
                                               "remove it or restore with ignoreVolumes");
      }
    }
    if (m.type == "bind" && !podman_managed(m)) {
      std::error_code ec;
      auto local = config_.host_root / std::filesystem::path(m.source).relative_path();
      if (!std::filesystem::exists(local, ec)) {
        return Error(ErrorCode::kNotFound, "bind-mount source " + m.source + " (mounted at " + m.destination +
                                               ") does not exist on this node; create it before restoring");
      }
    }
  }
  return Ok{};
}

// Removes what a failed restore left under the name: only a container this
// attempt made (same id, as an import without a new name keeps it; with a
// new name, pre-flight proved the name free), never one that runs on.
Status Engine::remove_leftover(const std::string& name, const ContainerInfo& facts, const RestoreOptions& options) {
  auto found = client_.inspect_container(name);
  if (!found.ok()) return found.error().code() == ErrorCode::kNotFound ? Status(Ok{}) : Status(found.error());
  const bool ours = options.name ? true : found->id == facts.id;
  if (!ours) return Ok{};
  return client_.remove_container(found->id, true);
}

Result<Workspace> Engine::restore(ByteSource& archive, const ContainerInfo& facts, const RestoreOptions& options,
                                  const OperationContext& ctx) {
  if (auto s = preflight(facts, options); !s.ok()) return s.error();
  const std::string name = options.name.value_or(facts.name);
  ctx.report({"restore", 0, std::nullopt, 0});
  auto id = client_.restore(archive, options, ctx);
  Result<Workspace> workspace = id.ok() ? reattach(*id, workspace_id_of(facts)) : Result<Workspace>(id.error());
  if (workspace.ok()) return workspace;
  // A name taken meanwhile belongs to someone else: leave it alone.
  if (workspace.error().code() == ErrorCode::kConflict) return workspace.error();
  if (auto cleanup = remove_leftover(name, facts, options); !cleanup.ok()) {
    return workspace.error().wrap("restore failed and removing the half-restored container " + name +
                                  " also failed (" + cleanup.error().message() + ")");
  }
  return workspace.error();
}

Result<Workspace> Engine::restore_in_place(const ContainerInfo& facts, const RestoreOptions& options) {
  auto id = client_.restore_in_place(facts.id, options);
  if (!id.ok()) return id.error();
  return reattach(*id, workspace_id_of(facts));
}

// Restore looks the image up by the name the archive records, so the name
// must resolve here, and to the same image the checkpoint was made on.
Result<bool> Engine::has_image(const ContainerInfo& facts) {
  auto image = client_.find_image(facts.image_name.empty() ? facts.image_id : facts.image_name);
  if (!image.ok()) return image.error();
  if (!*image) return false;
  if (!facts.image_id.empty() && (*image)->id != facts.image_id) {
    return Error(ErrorCode::kConflict, "image " + facts.image_name + " on this node is " +
                                           (*image)->id.substr(0, 12) + " but the checkpoint was made on " +
                                           facts.image_id.substr(0, 12) +
                                           "; restoring onto another base image would corrupt the workspace");
  }
  return true;
}

Result<Workspace> Engine::reattach(const std::string& container, const std::string& expected_workspace_id) {
  const auto deadline = clock_->now() + config_.reattach_timeout;
  std::optional<ContainerInfo> previous;
  for (;;) {
    auto info = client_.inspect_container(container);
    if (!info.ok()) return info.error().wrap("reattaching " + container);
    // Stable: running, and the same answer twice in a row.
    if (info->running() && previous && previous->id == info->id && previous->state == info->state) {
      std::string id = workspace_id_of(*info);
      if (!expected_workspace_id.empty() && id != expected_workspace_id) {
        return Error(ErrorCode::kRestoreFailed,
                     "restored container " + info->name + " carries " + config_.workspace_label + "=" + id +
                         " but the checkpoint is of workspace " + expected_workspace_id);
      }
      return Workspace{id, std::move(*info)};
    }
    if (clock_->now() > deadline) {
      return Error(ErrorCode::kRestoreFailed, "restored container " + container + " did not stay running (state " +
                                                  info->state + ") within the reattach timeout");
    }
    previous = std::move(*info);
    clock_->sleep_for(100ms);
  }
}

}  // namespace wscp::podman
