#include "podman/migration.h"

#include "common/file_stream.h"

namespace wscp::podman {
namespace {

// Brings the workspace back on the source after a failed migration step.
Result<Workspace> recover_on_source(Engine& source, ArchiveSpool& spool, const ContainerInfo& facts,
                                    bool archive_complete, const RestoreOptions& options,
                                    const OperationContext& ctx) {
  auto now = source.client().inspect_container(facts.id);
  if (now.ok() && now->running()) return source.reattach(facts.id, "");  // never stopped
  auto in_place = source.restore_in_place(facts, options);
  if (in_place.ok()) return in_place;
  if (!archive_complete) return in_place.error().wrap("restoring in place on the source");
  // Podman's kept checkpoint is unusable: start over from the archive.
  if (auto s = source.client().remove_container(facts.id, true); !s.ok()) return s.error();
  auto archive = spool.open(container_archive_key(facts));
  if (!archive.ok()) return archive.error();
  return source.restore(**archive, facts, options, ctx);
}

}  // namespace

std::string container_archive_key(const ContainerInfo& facts) { return "containers/" + facts.name + ".tar"; }

std::string image_archive_key(const ContainerInfo& facts) { return "images/" + facts.image_id + ".oci.tar"; }

Result<bool> ship_image(Engine& source, Engine& destination, ArchiveSpool& spool, const ContainerInfo& facts,
                        const OperationContext& ctx) {
  auto present = destination.has_image(facts);
  if (!present.ok()) return present.error();
  if (*present) return false;
  const std::string key = image_archive_key(facts);
  auto stored = spool.exists(key);
  if (!stored.ok()) return stored.error();
  if (!*stored) {
    auto sink = spool.create(key);
    if (!sink.ok()) return sink.error();
    if (auto s = source.client().export_image(facts.image_name.empty() ? facts.image_id : facts.image_name, **sink, ctx); !s.ok()) return s.error();
    if (auto s = (*sink)->close(); !s.ok()) return s.error();
  }
  auto in = spool.open(key);
  if (!in.ok()) return in.error();
  auto names = destination.client().load_image(**in, ctx);
  if (!names.ok()) return names.error();
  auto loaded = destination.has_image(facts);
  if (!loaded.ok()) return loaded.error();
  if (!*loaded) {
    return Error(ErrorCode::kInternal, "image " + facts.image_name + " was loaded on the destination but is not "
                                           "found there by id " + facts.image_id.substr(0, 12));
  }
  return true;
}

Result<MigrationResult> migrate(Engine& source, Engine& destination, ArchiveSpool& spool,
                                const MigrationRequest& request, const OperationContext& ctx) {
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

  auto sink = spool.create(key);
  if (!sink.ok()) return sink.error().wrap("the workspace was not touched");
  auto checkpoint = source.checkpoint(ws->container.id, options, **sink, ctx);
  Status durable = checkpoint.ok() ? (*sink)->close() : Status(checkpoint.error());
  sink->reset();

  // Every failure from here on brings the workspace back on the source.
  // A checkpoint holding TCP connections or file locks restores only with them.
  RestoreOptions back_options;
  back_options.tcp_established = request.checkpoint.tcp_established;
  back_options.file_locks = request.checkpoint.file_locks;
  auto keep_on_source = [&](const Error& why, bool archive_complete) -> Result<MigrationResult> {
    auto back = recover_on_source(source, spool, ws->container, archive_complete, back_options, ctx);
    if (!back.ok()) {
      result.outcome = MigrationOutcome::kStopped;
      result.failure = Error(back.error().code(),
                             why.message() + "; bringing the workspace back on the source also failed (" +
                                 back.error().message() + ")" +
                                 (archive_complete ? "; its archive is at " + spool.describe(key) : std::string()));
      return result;
    }
    result.outcome = MigrationOutcome::kKeptOnSource;
    result.workspace = std::move(*back);
    result.failure = why;
    return result;
  };

  if (!durable.ok()) return keep_on_source(durable.error().wrap("checkpoint"), false);
  result.checkpoint = std::move(*checkpoint);
  const ContainerInfo& facts = result.checkpoint.facts;

  auto shipped = ship_image(source, destination, spool, facts, ctx);
  if (!shipped.ok()) return keep_on_source(shipped.error().wrap("shipping image " + facts.image_name), true);
  result.image_shipped = *shipped;

  auto archive = spool.open(key);
  if (!archive.ok()) return keep_on_source(archive.error(), true);
  auto started = std::chrono::steady_clock::now();
  auto restored = destination.restore(**archive, facts, request.restore, ctx);
  result.restore_duration =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  if (!restored.ok()) return keep_on_source(restored.error().wrap("restore on the destination"), true);

  result.workspace = std::move(*restored);
  if (auto s = source.client().remove_container(facts.id, true); !s.ok()) {
    result.warnings.push_back("the checkpointed copy on the source could not be removed: " + s.error().message());
  }
  return result;
}

}  // namespace wscp::podman
