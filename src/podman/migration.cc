#include "podman/migration.h"
#include "podman/image_loading.h"

#include <algorithm>
#include <map>
#include <set>

namespace wscp::podman {
namespace {

// The context of bringing a workspace back: the migration's id and progress,
// its own cancellation.
OperationContext recovery_context(const OperationContext& ctx, const std::shared_ptr<CancelToken>& cancel) {
  OperationContext recovery;
  recovery.operation_id = ctx.operation_id;
  recovery.on_progress = ctx.on_progress;
  recovery.cancel = cancel ? cancel : std::make_shared<CancelToken>();
  return recovery;
}

// Brings the workspace back on the source after a failed migration step:
// in place from Podman's kept checkpoint, else (with a complete archive of
// archive_bytes) from the archive, beside the stopped container, which is
// given up only once the archive's copy runs.
Result<Workspace> recover_on_source(Engine& source, ArchiveSpool& spool, const ContainerInfo& facts,
                                    std::optional<std::uint64_t> archive_bytes, const RestoreOptions& options,
                                    const OperationContext& ctx) {
  auto in_place = source.restore_in_place(facts, options);
  if (in_place.ok()) return in_place;
  if (!archive_bytes) return in_place.error().wrap("restoring in place on the source");
  auto archive = spool.open(container_archive_key(facts), ctx);
  if (!archive.ok()) {
    return Error(archive.error().code(), "restoring in place on the source failed (" + in_place.error().message() +
                                             ") and so did opening the archive (" + archive.error().message() + ")");
  }
  auto back = source.restore_replacing(**archive, facts, options, ctx, {*archive_bytes, true});
  if (!back.ok()) {
    return Error(back.error().code(), "restoring in place on the source failed (" + in_place.error().message() +
                                          ") and so did " + back.error().message());
  }
  return back;
}

// Loads the archive `key` on the destination and checks that it brought the
// image of `facts` and no other name. `unverified` tells a stream that
// failed verification (the stored copy is bad) from other failures.
Status load_checked(Engine& destination, ArchiveSpool& spool, const std::string& key, const ContainerInfo& facts,
                    const OperationContext& ctx, bool& unverified) {
  unverified = false;
  auto in = spool.open(key, ctx);
  if (!in.ok()) {
    unverified = in.error().code() == ErrorCode::kIntegrity;
    return in.error();
  }
  return load_image_checked(destination, **in, facts, spool.describe(key), ctx, &unverified);
}

// Exports the image into the spool: shared (create-if-absent) or this
// migration's own copy. A shared copy someone else completed first is fine.
Status write_image(Engine& source, ArchiveSpool& spool, const std::string& key, bool shared,
                   const ContainerInfo& facts, const OperationContext& ctx) {
  auto sink = shared ? spool.create_once(key, ctx) : spool.create(key, ctx);
  if (!sink.ok()) return sink.error().code() == ErrorCode::kConflict ? Status(Ok{}) : Status(sink.error());
  const std::string ref = facts.image_name.empty() ? facts.image_id : facts.image_name;
  if (auto s = source.client().export_image(ref, **sink, ctx); !s.ok()) return s.error();
  auto closed = (*sink)->close();
  if (!closed.ok() && closed.error().code() == ErrorCode::kConflict) return Ok{};
  return closed;
}

}  // namespace

std::string container_archive_key(const ContainerInfo& facts) { return "containers/" + facts.name + ".tar"; }

std::string image_archive_key(const ContainerInfo& facts) { return "images/" + facts.image_id + ".oci.tar"; }

Result<bool> ship_image(Engine& source, Engine& destination, ArchiveSpool& spool, const ContainerInfo& facts,
                        const OperationContext& ctx) {
  auto present = destination.has_image(facts);
  if (!present.ok()) return present.error();
  if (*present) return false;
  const std::string shared = image_archive_key(facts);
  auto stored = spool.exists(shared);
  if (!stored.ok()) return stored.error();
  if (!*stored) {
    if (auto s = write_image(source, spool, shared, true, facts, ctx); !s.ok()) return s.error();
  }
  bool unverified = false;
  auto loaded = load_checked(destination, spool, shared, facts, ctx, unverified);
  if (loaded.ok()) return true;
  if (!unverified) return loaded.error();
  // The shared copy does not verify (damaged, or half-replaced by a racing
  // writer): it is left alone, and this migration ships its own copy.
  const std::string own = "image-copies/" + facts.image_id + ".oci.tar";
  if (auto s = write_image(source, spool, own, false, facts, ctx); !s.ok()) {
    return s.error().wrap("the shared image archive " + spool.describe(shared) + " did not verify (" +
                          loaded.error().message() + ") and writing a copy of this migration's own failed");
  }
  if (auto s = load_checked(destination, spool, own, facts, ctx, unverified); !s.ok()) return s.error();
  return true;
}

Result<MigrationResult> migrate(Engine& source, Engine& destination, ArchiveSpool& spool,
                                const MigrationRequest& request, const OperationContext& ctx) {
  if (request.checkpoint.leave_running) {
    return Error(ErrorCode::kInvalidArgument,
                 "leaveRunning cannot be used to migrate: the source would keep running and whatever it does "
                 "after the dump would be lost on the destination; it is for checkpoints kept for later, "
                 "without a destination. The workspace was not touched");
  }
  auto dest_caps = destination.capabilities();
  if (!dest_caps.ok()) return dest_caps.error().wrap("destination");
  if (!dest_caps->checkpoint) return Error(ErrorCode::kUnsupported, "destination: " + dest_caps->why_not);
  auto ws = source.find_workspace(request.workspace);
  if (!ws.ok()) return ws.error();
  if (ws->id.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "container " + ws->container.name + " has no " + source.config().workspace_label +
                     " label, so it is not a workspace and was not touched; label it or choose the label "
                     "that holds the workspace id");
  }
  // Everything that can be refused is refused before the source is frozen.
  if (auto s = source.check_checkpointable(ws->container, request.checkpoint); !s.ok()) {
    return s.error().wrap("the workspace was not touched");
  }
  if (auto s = destination.preflight(ws->container, request.restore, /*check_image=*/false); !s.ok()) {
    return s.error().wrap("destination refused before the checkpoint; the workspace was not touched");
  }

  MigrationResult result;
  CheckpointOptions options = request.checkpoint;
  options.keep = true;  // what makes an in-place recovery possible
  const std::string key = container_archive_key(ws->container);

  auto sink = spool.create(key, ctx);
  if (!sink.ok()) return sink.error().wrap("the workspace was not touched");
  auto checkpoint = source.checkpoint(ws->container.id, options, **sink, ctx);
  Status durable = checkpoint.ok() ? (*sink)->close() : Status(checkpoint.error());
  sink->reset();

  // Every failure from here on brings the workspace back on the source,
  // under a context of its own (the migration's may be cancelled).
  // A checkpoint holding TCP connections or file locks restores only with them.
  RestoreOptions back_options;
  back_options.tcp_established = request.checkpoint.tcp_established;
  back_options.file_locks = request.checkpoint.file_locks;
  const OperationContext recovery = recovery_context(ctx, request.recovery_cancel);
  auto keep_on_source = [&](const Error& why, std::optional<std::uint64_t> archive_bytes) -> Result<MigrationResult> {
    auto back = recover_on_source(source, spool, ws->container, archive_bytes, back_options, recovery);
    if (!back.ok()) {
      result.outcome = MigrationOutcome::kStopped;
      result.failure = Error(back.error().code(),
                             why.message() + "; bringing the workspace back on the source also failed (" +
                                 back.error().message() + "); the stopped container " + ws->container.name +
                                 " on the source (with Podman's kept checkpoint) is left as it is" +
                                 (archive_bytes ? ", and its archive is at " + spool.describe(key) : std::string()));
      return result;
    }
    result.outcome = MigrationOutcome::kKeptOnSource;
    result.workspace = std::move(*back);
    result.failure = why;
    if (result.workspace.container.name != ws->container.name) {
      result.warnings.push_back("the workspace runs on the source as " + result.workspace.container.name +
                                " (its archive's copy): the stopped container " + ws->container.name +
                                " could not be replaced");
    }
    return result;
  };

  if (!durable.ok()) return keep_on_source(durable.error().wrap("checkpoint"), std::nullopt);
  result.checkpoint = std::move(*checkpoint);
  const ContainerInfo& facts = result.checkpoint.facts;
  const std::uint64_t archive_bytes = result.checkpoint.archive_bytes;

  auto shipped = ship_image(source, destination, spool, facts, ctx);
  if (!shipped.ok()) return keep_on_source(shipped.error().wrap("shipping image " + facts.image_name), archive_bytes);
  result.image_shipped = *shipped;

  auto archive = spool.open(key, ctx);
  if (!archive.ok()) return keep_on_source(archive.error(), archive_bytes);
  auto started = std::chrono::steady_clock::now();
  auto restored = destination.restore(**archive, facts, request.restore, ctx, {archive_bytes, true});
  result.restore_duration =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  if (!restored.ok() && restored.error().code() == ErrorCode::kDeadlineExceeded) {
    // A copy may run on the destination: resuming the source could make two.
    result.outcome = MigrationOutcome::kStopped;
    result.failure = restored.error().wrap(
        "restore on the destination; the source was not resumed so that the workspace cannot run twice: once the "
        "destination is known not to run it, resume the stopped container " + ws->container.name +
        " on the source (it keeps Podman's checkpoint), or restore the archive at " + spool.describe(key));
    return result;
  }
  if (!restored.ok()) return keep_on_source(restored.error().wrap("restore on the destination"), archive_bytes);

  // The destination's copy has settled: only now does the source's go.
  result.workspace = std::move(*restored);
  if (auto s = source.client().remove_container(facts.id, true); !s.ok()) {
    result.warnings.push_back("the checkpointed copy on the source could not be removed: " + s.error().message());
  }
  return result;
}

}  // namespace wscp::podman
