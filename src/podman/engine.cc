#include "podman/engine.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
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

// Passes an archive through, noting whether its end was reached: once it
// was, Podman may hold the whole archive even if the call then failed.
class EndWatch final : public ByteSource {
 public:
  // `at_end` is called once, when the end has been read.
  EndWatch(ByteSource& inner, std::function<void(std::uint64_t bytes)> at_end = nullptr)
      : inner_(inner), at_end_(std::move(at_end)) {}
  Result<std::size_t> read(std::span<std::byte> buffer) override {
    auto n = inner_.read(buffer);
    if (n.ok()) {
      bytes_ += *n;
      if (*n == 0 && !buffer.empty() && !end_) {
        end_ = true;
        if (at_end_) at_end_(bytes_);
      }
    }
    return n;
  }
  bool reached_end() const { return end_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  ByteSource& inner_;
  std::function<void(std::uint64_t)> at_end_;
  std::uint64_t bytes_ = 0;
  bool end_ = false;
};

}  // namespace

std::chrono::milliseconds restore_deadline(const EngineConfig& config, std::uint64_t archive_bytes) {
  // An unknown size is bounded as a large archive (16 GiB).
  const std::uint64_t bytes = archive_bytes ? archive_bytes : 16ull << 30;
  const std::uint64_t rate = std::max<std::uint64_t>(config.restore_bytes_per_second, 1);
  return config.restore_floor + std::chrono::milliseconds(bytes / rate * 1000 + bytes % rate * 1000 / rate);
}

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
  if (auto s = client_.checkpoint(container, options, tap, ctx); !s.ok()) {
    await_checkpoint_outcome(facts->id);
    return s.error();
  }
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

void Engine::await_checkpoint_outcome(const std::string& container) {
  const auto deadline = clock_->now() + std::max(config_.restore_floor, config_.reattach_timeout);
  bool seen = false;
  Clock::time_point unchanged_since{};
  std::string last_state;
  for (;;) {
    auto info = client_.inspect_container(container);
    const auto now = clock_->now();
    if (!info.ok() && info.error().code() == ErrorCode::kNotFound) return;
    if (info.ok()) {
      if (!seen || info->state != last_state) {
        seen = true;
        unchanged_since = now;
        last_state = info->state;
      } else if (now - unchanged_since >= config_.outcome_grace) {
        return;
      }
    }
    if (now >= deadline) return;
    clock_->sleep_for(config_.poll_interval);
  }
}

Result<std::string> Engine::await_outcome(const std::string& container, std::uint64_t archive_bytes) {
  // At least as long as a restored container may take to come up: a short
  // call deadline must not cut Podman's own restore short.
  const auto bound = std::max(restore_deadline(config_, archive_bytes), config_.reattach_timeout);
  const auto deadline = clock_->now() + bound;
  // (Plain values: GCC 12 misreads an optional time_point as uninitialised.)
  bool seen = false;
  Clock::time_point unchanged_since{};
  std::string last_state;
  std::optional<Error> unreachable;
  for (;;) {
    auto info = client_.inspect_container(container);
    const auto now = clock_->now();
    if (info.ok()) {
      unreachable.reset();
      if (info->running()) return info->id;
      if (!seen || info->state != last_state) {
        seen = true;
        unchanged_since = now;
        last_state = info->state;
      } else if (now - unchanged_since >= config_.outcome_grace) {
        return std::string();  // created but never started: Podman gave up
      }
    } else if (info.error().code() == ErrorCode::kNotFound) {
      unreachable.reset();
      seen = false;
    } else {
      unreachable = info.error();
    }
    if (now >= deadline) {
      if (unreachable) {
        return Error(ErrorCode::kDeadlineExceeded,
                     "the outcome of restoring " + container + " is unknown: Podman did not answer within " +
                         std::to_string(bound.count() / 1000) + " s (" + unreachable->message() +
                         "); the container may still come up on this node, so check there before starting it "
                         "anywhere else");
      }
      // Not created within the whole bound (Podman failed before creating
      // it), or created and never started.
      return std::string();
    }
    clock_->sleep_for(config_.poll_interval);
  }
}

Result<Workspace> Engine::restore(ByteSource& archive, const ContainerInfo& facts, const RestoreOptions& options,
                                  const OperationContext& ctx, const RestoreHints& hints) {
  if (auto s = preflight(facts, options); !s.ok()) return s.error();
  const std::string name = options.name.value_or(facts.name);
  ctx.report({"restore", 0, std::nullopt, 0});
  // Podman has the whole archive: CRIU's restore comes next.
  EndWatch body(archive, [&ctx](std::uint64_t bytes) { ctx.report({"restore", bytes, bytes, 0}); });
  auto id = client_.restore(body, options, ctx, restore_deadline(config_, hints.archive_bytes));
  std::optional<Error> failure;
  std::string restored;
  if (id.ok()) {
    restored = *id;
  } else if (body.reached_end() && (id.error().code() == ErrorCode::kUnavailable ||
                                    id.error().code() == ErrorCode::kCancelled)) {
    // Podman has the whole archive and may be restoring it still: its own
    // outcome decides, not our call's.
    ctx.report({"awaiting-podman", body.bytes(), body.bytes(), 0});
    auto outcome = await_outcome(options.name ? name : facts.id, hints.archive_bytes);
    if (!outcome.ok()) return outcome.error().wrap("restore on this node (" + id.error().message() + ")");
    if (outcome->empty()) {
      failure = id.error().wrap("Podman did not bring the container up after the restore call ended");
    } else {
      restored = *outcome;
    }
  } else {
    failure = id.error();
  }
  if (!failure) {
    ctx.report({"settle", body.bytes(), body.bytes(), 0});
    auto workspace = reattach(restored, workspace_id_of(facts), hints.settle);
    if (workspace.ok()) return workspace;
    failure = workspace.error();
  }
  // A name taken meanwhile belongs to someone else: leave it alone.
  if (failure->code() == ErrorCode::kConflict) return *failure;
  if (auto cleanup = remove_leftover(name, facts, options); !cleanup.ok()) {
    // A plain failure promises that nothing this attempt made runs here.
    auto here = client_.inspect_container(options.name ? name : facts.id);
    const bool stopped = here.ok() ? !here->running() : here.error().code() == ErrorCode::kNotFound;
    if (stopped) {
      return failure->wrap("restore failed and removing the half-restored container " + name + " also failed (" +
                           cleanup.error().message() + "); it is left there, not running");
    }
    return Error(ErrorCode::kDeadlineExceeded,
                 failure->message() + "; the container " + name + " this restore made could not be removed (" +
                     cleanup.error().message() + ") and " +
                     (here.ok() ? std::string("runs") : "its state cannot be read (" + here.error().message() + ")") +
                     ": a copy may run on this node");
  }
  return *failure;
}

Result<Workspace> Engine::restore_in_place(const ContainerInfo& facts, const RestoreOptions& options) {
  const std::string expected = workspace_id_of(facts);
  for (int attempt = 1;; ++attempt) {
    // Running already: an earlier attempt got through, or it never stopped.
    auto now = client_.inspect_container(facts.id);
    if (now.ok() && now->running()) return reattach(facts.id, expected);
    auto id = client_.restore_in_place(facts.id, options);
    if (id.ok()) return reattach(*id, expected);
    if (!id.error().retryable() || attempt >= config_.in_place_attempts) {
      if (attempt > 1) {
        // After a transient failure Podman may have got there after all.
        auto again = client_.inspect_container(facts.id);
        if (again.ok() && again->running()) return reattach(facts.id, expected);
      }
      return id.error();
    }
    clock_->sleep_for(std::chrono::milliseconds(1000) * attempt);
  }
}

Result<Workspace> Engine::restore_replacing(ByteSource& archive, const ContainerInfo& facts,
                                            const RestoreOptions& options, const OperationContext& ctx,
                                            const RestoreHints& hints) {
  if (options.tcp_established) {
    return Error(ErrorCode::kUnsupported,
                 "the checkpoint holds established TCP connections, which restore only under the container's own "
                 "id; the stopped container " + facts.name + " holds it, and is left as it is");
  }
  RestoreOptions beside = options;
  beside.name = facts.name + "-wscp-recovered";
  beside.ignore_volumes = true;  // the stopped container's volumes are here already
  auto restored = restore(archive, facts, beside, ctx, hints);
  if (!restored.ok()) return restored.error().wrap("restoring the archive beside the stopped container");
  // Only now is the stopped container no longer the last good copy. When it
  // cannot be removed, or the name not taken back, the workspace runs under
  // the temporary name: the caller sees it in the container's name.
  if (auto s = client_.remove_container(facts.id, true); !s.ok()) return restored;
  if (auto s = client_.rename_container(restored->container.id, facts.name); !s.ok()) return restored;
  auto renamed = client_.inspect_container(restored->container.id);
  if (renamed.ok()) restored->container = std::move(*renamed);
  return restored;
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

Result<Workspace> Engine::reattach(const std::string& container, const std::string& expected_workspace_id,
                                   bool settle) {
  const auto deadline = clock_->now() + config_.reattach_timeout;
  bool running = false;
  Clock::time_point running_since{};
  for (;;) {
    auto info = client_.inspect_container(container);
    if (!info.ok()) return info.error().wrap("reattaching " + container);
    const auto now = clock_->now();
    if (info->running()) {
      if (!running) {
        running = true;
        running_since = now;
        std::string id = workspace_id_of(*info);
        if (!expected_workspace_id.empty() && id != expected_workspace_id) {
          return Error(ErrorCode::kRestoreFailed,
                       "restored container " + info->name + " carries " + config_.workspace_label + "=" + id +
                           " but the checkpoint is of workspace " + expected_workspace_id);
        }
      }
      if (!settle || now - running_since >= config_.settle_time) {
        return Workspace{workspace_id_of(*info), std::move(*info)};
      }
    } else if (running) {
      return Error(ErrorCode::kRestoreFailed,
                   "restored container " + container + " stopped (state " + info->state + ") " +
                       std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now - running_since)
                                          .count()) +
                       " ms after it started running, within the settle time of " +
                       std::to_string(config_.settle_time.count()) + " ms");
    } else if (now > deadline) {
      return Error(ErrorCode::kRestoreFailed, "restored container " + container + " did not start running (state " +
                                                  info->state + ") within the reattach timeout");
    }
    clock_->sleep_for(config_.poll_interval);
  }
}

Status Engine::settle(const std::vector<Workspace>& restored) {
  const auto until = clock_->now() + config_.settle_time;
  for (;;) {
    for (const auto& w : restored) {
      auto info = client_.inspect_container(w.container.id);
      if (!info.ok()) return info.error().wrap("settling " + w.container.name);
      if (!info->running()) {
        return Error(ErrorCode::kRestoreFailed, "restored container " + w.container.name + " stopped (state " +
                                                    info->state + ") within the settle time of " +
                                                    std::to_string(config_.settle_time.count()) + " ms");
      }
    }
    if (clock_->now() >= until) return Ok{};
    clock_->sleep_for(config_.poll_interval);
  }
}

}  // namespace wscp::podman
