#include "migration/source_recovery.h"

namespace wscp::migration {
namespace {

Result<podman::Workspace> bring_back_one(NodeServices& node, const podman::ContainerInfo& facts,
                                         const podman::RestoreOptions& options,
                                         const std::optional<store::Manifest>& manifest, const OperationContext& ctx) {
  auto now = node.engine.client().inspect_container(facts.id);
  if (now && now->running()) return node.engine.reattach(facts.id, "");  // never stopped
  if (!now && now.error().code() != ErrorCode::kNotFound) return now.error();
  Error in_place_failure(ErrorCode::kNotFound, "container " + facts.name + " is gone from the source");
  if (now) {
    auto in_place = node.engine.restore_in_place(facts, options);  // retries transient errors itself
    if (in_place) return in_place;
    in_place_failure = in_place.error();
  }
  if (!manifest) return in_place_failure.wrap("no sealed archive to fall back on");
  const store::ContainerEntry* entry = nullptr;
  for (const auto& c : manifest->containers) {
    if (c.name == facts.name) entry = &c;
  }
  if (entry == nullptr) return Error(ErrorCode::kIntegrity, "the manifest has no archive of container " + facts.name);
  auto archive = node.checkpoints.open_archive(entry->archive, ctx);
  if (!archive) return archive.error();
  // The stopped container (and its kept checkpoint) stays until the copy
  // from the archive has settled beside it.
  podman::RestoreHints hints;
  hints.archive_bytes = entry->archive.plain_size;
  if (now) return node.engine.restore_replacing(**archive, facts, options, ctx, hints);
  return node.engine.restore(**archive, facts, options, ctx, hints);
}

}  // namespace

Result<std::vector<podman::Workspace>> bring_back_on_source(NodeServices& node, const Plan& plan,
                                                            const std::optional<store::Manifest>& manifest,
                                                            const OperationContext& ctx) {
  // A checkpoint holding TCP connections or file locks restores only with them.
  podman::RestoreOptions options;
  options.tcp_established = plan.checkpoint.tcp_established;
  options.file_locks = plan.checkpoint.file_locks;
  std::vector<podman::Workspace> running;
  std::string failures;
  for (const auto& c : plan.containers) {
    auto back = bring_back_one(node, c, options, manifest, ctx);
    if (back) {
      running.push_back(std::move(*back));
    } else {
      failures += (failures.empty() ? "" : "; ") + c.name + ": " + back.error().message();
    }
  }
  if (!failures.empty()) {
    return Error(ErrorCode::kRestoreFailed, "not running anywhere: " + failures);
  }
  return running;
}

}  // namespace wscp::migration
