#include "migration/restore_phase.h"

#include <algorithm>
#include <cstdio>
#include <functional>

#include "migration/checkpoint_phase.h"
#include "migration/claim.h"
#include "migration/fault_streams.h"
#include "migration/plan_phase.h"
#include "podman/image_loading.h"

namespace wscp::migration {
namespace {

using Millis = std::chrono::milliseconds;

// The sealed manifest of a plan's checkpoint, bound to the plan and naming
// the same containers in the same order.
Result<store::Manifest> read_bound_manifest(NodeServices& node, const Plan& plan) {
  auto manifest = read_sealed(node, plan);
  if (!manifest) return manifest.error();
  bool same = manifest->containers.size() == plan.containers.size();
  for (std::size_t i = 0; same && i < plan.containers.size(); ++i) {
    same = manifest->containers[i].name == plan.containers[i].name;
  }
  if (!same) {
    return Error(ErrorCode::kIntegrity, "the manifest and the plan of checkpoint " + plan.checkpoint_id +
                                            " disagree on the containers; refusing it");
  }
  return manifest;
}

std::string seconds_text(std::chrono::milliseconds d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(d.count()) / 1000);
  return text;
}

// Something that changes while the source still writes the checkpoint.
using ProgressMark = std::function<std::uint64_t()>;

// Polls `attempt` until it gives something other than kNotFound, the
// follow timeout passes without progress (kUnavailable, saying
// `waiting_for`) or ctx is cancelled. With `progress`, the timeout counts
// from the last time its mark changed.
template <typename T, typename Attempt>
Result<T> await_found(const store::FollowOptions& follow, const OperationContext& ctx, const std::string& waiting_for,
                      Attempt attempt, const ProgressMark& progress = {}) {
  Clock& clock = *follow.clock;
  auto deadline = clock.now() + follow.timeout;
  std::uint64_t mark = progress ? progress() : 0;
  for (;;) {
    Result<T> r = attempt();
    if (r || r.error().code() != ErrorCode::kNotFound) return r;
    if (ctx.cancelled()) return Error(ErrorCode::kCancelled, "cancelled while waiting for " + waiting_for);
    if (progress) {
      if (const std::uint64_t now = progress(); now != mark) {
        mark = now;
        deadline = clock.now() + follow.timeout;
      }
    }
    if (clock.now() >= deadline) {
      return Error(ErrorCode::kUnavailable,
                   waiting_for + " did not appear within " + seconds_text(follow.timeout) +
                       (progress ? " of the checkpoint's last write" : "") +
                       ": the source stopped writing the checkpoint (see its node's log), or it writes more slowly "
                       "than the follow timeout allows (raise it, or restore once the checkpoint is sealed)");
    }
    clock.sleep_for(follow.poll_interval);
  }
}

// How much of checkpoint `id` the store holds: grows while it is written.
ProgressMark stored_so_far(NodeServices& node, const std::string& workspace_id, const std::string& checkpoint_id) {
  return [&node, workspace_id, checkpoint_id]() -> std::uint64_t {
    auto listed = node.checkpoints.list_checkpoints(workspace_id);
    if (!listed) return 0;
    for (const auto& c : *listed) {
      if (c.checkpoint_id == checkpoint_id) return c.stored_bytes + c.objects;
    }
    return 0;
  };
}

// A manifest's container entry must name the writing that was followed: a
// stale or foreign writing under the same key is never restored.
Status check_binds(const store::ContainerEntry& entry, const store::FollowedWriting& read) {
  const auto& a = entry.archive;
  if (a.key != read.archive_key || a.upload != read.upload || a.segments != read.totals.segments ||
      a.stored.size != read.totals.stored_size || a.stored.sha256 != read.totals.stored_sha256 ||
      a.plain_size != read.totals.plain_size || a.plain_sha256 != read.totals.plain_sha256) {
    return Error(ErrorCode::kIntegrity, "the sealed manifest names another writing of archive " + read.archive_key +
                                            " than the one read while it was written; refusing it");
  }
  return Ok{};
}

// A followed archive whose next segment never came: the source stopped, and
// Podman never had the whole archive, so nothing was made from it (unlike a
// restore that timed out in Podman's hands, which may still bring a copy up).
Error source_stopped(const Error& e) {
  if (e.code() != ErrorCode::kDeadlineExceeded) return e;
  return Error(ErrorCode::kUnavailable, e.message() + " (the source stopped writing it)");
}

class FollowedArchive : public ByteSource {
 public:
  explicit FollowedArchive(std::unique_ptr<ByteSource> inner) : inner_(std::move(inner)) {}
  Result<std::size_t> read(std::span<std::byte> buffer) override {
    auto n = inner_->read(buffer);
    if (!n) return source_stopped(n.error());
    return n;
  }

 private:
  std::unique_ptr<ByteSource> inner_;
};

podman::RestoreOptions options_for(const Plan& plan, const podman::ContainerInfo& c) {
  podman::RestoreOptions o = plan.restore;
  if (o.name && c.name != plan.primary) o.name.reset();
  return o;
}

std::string name_on_destination(const Plan& plan, const podman::ContainerInfo& c) {
  return options_for(plan, c).name.value_or(c.name);
}

JournalEntry entry_for(NodeServices& node, const Plan& plan, Step step) {
  JournalEntry e{plan.checkpoint_id, plan.workspace_id, Phase::kRestore, step, node.node,
                 node.checkpoints.objects().describe(), {}, node.clock.wall_now(), node.clock.wall_now(), ""};
  for (const auto& c : plan.containers) e.containers.push_back(name_on_destination(plan, c));
  return e;
}

Result<std::vector<std::string>> load_images(NodeServices& node, const std::vector<store::ImageBlob>& images,
                                             const OperationContext& ctx) {
  std::vector<std::string> loaded;
  for (const auto& image : images) {
    podman::ContainerInfo probe;
    probe.image_id = podman_image_id(image.id);
    probe.image_name = image.names.empty() ? std::string() : image.names.front();
    auto present = node.engine.has_image(probe);
    if (!present) return present.error();
    if (*present) continue;
    auto archive = node.checkpoints.open_archive(image.archive, ctx);
    if (!archive) return archive.error();
    if (auto st = podman::load_image_checked(node.engine, **archive, probe, image.archive.key, ctx); !st) {
      return st.error().wrap("loading image " + probe.image_name);
    }
    loaded.push_back(image.id);
  }
  return loaded;
}

// The images a plan needs, as the source stores them before it freezes
// anything: waited for when the checkpoint is not sealed yet.
Result<std::vector<store::ImageBlob>> await_images(NodeServices& node, const Plan& plan, const CutThrough& cut,
                                                   const OperationContext& ctx) {
  std::vector<store::ImageBlob> images;
  for (const auto& c : plan.containers) {
    const std::string digest = image_digest(c.image_id);
    bool listed = false;
    for (const auto& i : images) listed = listed || i.id == digest;
    if (listed) continue;
    auto blob = await_found<store::ImageBlob>(
        cut.follow, ctx, "image " + digest, [&]() -> Result<store::ImageBlob> {
          auto found = node.checkpoints.find_image(digest);
          if (!found) return found.error();
          if (!found->has_value()) return Error(ErrorCode::kNotFound, "image " + digest + " is not stored yet");
          return **found;
        });
    if (!blob) return blob.error();
    images.push_back(std::move(*blob));
  }
  return images;
}

// Removes what this attempt made under the plan's names; an error names
// what is still there.
Status remove_made(NodeServices& node, const Plan& plan) {
  std::string left;
  for (const auto& c : plan.containers) {
    const std::string name = name_on_destination(plan, c);
    Status removed = node.engine.client().remove_container(name, true);
    if (!removed && removed.error().code() != ErrorCode::kNotFound) {
      left += (left.empty() ? "" : "; ") + name + ": " + removed.error().message();
    }
  }
  if (!left.empty()) return Error(ErrorCode::kUnavailable, "could not remove " + left);
  return Ok{};
}

Error give_up(NodeServices& node, const Plan& plan, ClaimLog& claim, const Error& why) {
  if (why.code() == ErrorCode::kDeadlineExceeded) {
    // Podman may still be restoring (or a copy runs and would not go): the
    // source must not resume, so the claim and the journal stay.
    return Error(why.code(), why.message() + "; a copy may run on this node, so the restore is not abandoned: run "
                                             "`wscp-agent resume --pending` here to settle it");
  }
  if (Status removed = remove_made(node, plan); !removed) {
    // A copy may still run here: the source must not resume yet.
    return Error(why.code(), why.message() + "; " + removed.error().message() + ", so the restore is not abandoned: "
                                             "run `wscp-agent resume --pending` here to finish undoing it");
  }
  auto abandoned = claim.take(ClaimStep::kAbandonRestore, node.node, why.message());
  if (!abandoned && abandoned.error().code() != ErrorCode::kConflict) {
    // The journal stays, so that this node's next start marks it.
    return Error(why.code(), why.message() + "; nothing was left on this node, but the restore could not be marked "
                                             "abandoned (" + abandoned.error().message() +
                                             "): run `wscp-agent resume --pending` here once the store answers, "
                                             "then the source may resume");
  }
  (void)node.journal.finish(plan.workspace_id, plan.checkpoint_id, Phase::kRestore);
  if (!abandoned) {
    return Error(why.code(), why.message() + "; the restore could not be marked abandoned (" +
                                 abandoned.error().message() + ")");
  }
  return Error(why.code(), why.message() + "; nothing was left on this node and the source may resume");
}

}  // namespace

Result<Restored> restore_workspace(NodeServices& node, const std::string& workspace_id,
                                   const std::string& checkpoint_id, const OperationContext& ctx,
                                   const std::optional<CutThrough>& cut_through) {
  const auto started = node.clock.now();
  // Cut through, the source may not have written its plan yet.
  auto read = cut_through ? await_found<Plan>(cut_through->follow, ctx, "the plan of checkpoint " + checkpoint_id,
                                              [&] { return read_plan(node, workspace_id, checkpoint_id); })
                          : read_plan(node, workspace_id, checkpoint_id);
  if (!read) return read.error();
  const Plan& plan = *read;
  std::optional<store::Manifest> manifest;
  if (auto sealed = read_bound_manifest(node, plan); sealed) {
    manifest = std::move(*sealed);
  } else if (!cut_through || sealed.error().code() != ErrorCode::kNotFound) {
    return sealed.error();
  }

  ClaimLog claim(node.documents, node.verify_keys(), workspace_id, checkpoint_id);
  auto current = claim.current();
  if (!current) return current.error();
  if ((current->state == ClaimState::kRestored || current->state == ClaimState::kRestoring) &&
      current->node == node.node) {
    return finish_interrupted_restore(node, workspace_id, checkpoint_id, ctx);  // done, or died, before
  }
  if (auto st = preflight_plan(node.engine, plan); !st) {
    return st.error().wrap("this node cannot restore checkpoint " + checkpoint_id + "; nothing was touched");
  }
  if (auto st = node.journal.record(entry_for(node, plan, Step::kRestoring)); !st) return st.error();
  auto taken = claim.take(ClaimStep::kBeginRestore, node.node);
  if (!taken) {
    // Only a refusal proves the claim is not ours; after any other error
    // (a lost answer) the journal stays for `resume --pending` to find out.
    if (taken.error().code() == ErrorCode::kConflict) (void)node.journal.finish(workspace_id, checkpoint_id, Phase::kRestore);
    return taken.error();
  }
  node.faults.reach("restore.before-import");

  Restored result;
  result.primary = plan.primary;
  result.cut_through = !manifest;
  auto blobs = manifest ? Result<std::vector<store::ImageBlob>>(manifest->images)
                        : await_images(node, plan, *cut_through, ctx);
  if (!blobs) return give_up(node, plan, claim, blobs.error());
  auto images = load_images(node, *blobs, ctx);
  if (!images) return give_up(node, plan, claim, images.error());
  result.images_loaded = std::move(*images);

  // From the first archive's end on, Podman may bring a container up even
  // if this process dies: recovery must then wait for Podman's outcome.
  auto end_released = [&]() -> Status {
    return node.journal.record(entry_for(node, plan, Step::kSettling));
  };
  for (std::size_t i = 0; i < plan.containers.size(); ++i) {
    podman::ContainerInfo facts = plan.containers[i];
    Result<std::unique_ptr<ByteSource>> archive = Error(ErrorCode::kInternal, "unset");
    podman::RestoreHints hints;
    // The download begins when the archive is asked for (a cut-through
    // restore may wait here for the source's first segment).
    ctx.report({"download", 0, std::nullopt, 0});
    if (manifest) {
      archive = node.checkpoints.open_archive(manifest->containers[i].archive, ctx, end_released);
      hints.archive_bytes = manifest->containers[i].archive.plain_size;  // sizes the call's deadline
    } else {
      // Podman gets the archive's tail only once the seal names this writing.
      auto gate = [&, i](const store::FollowedWriting& written) -> Status {
        if (!manifest) {
          // A project's later services are still being dumped: wait while
          // the checkpoint grows.
          auto sealed = await_found<store::Manifest>(cut_through->follow, ctx,
                                                     "the manifest of checkpoint " + checkpoint_id,
                                                     [&] { return read_bound_manifest(node, plan); },
                                                     stored_so_far(node, workspace_id, checkpoint_id));
          if (!sealed) return sealed.error();
          manifest = std::move(*sealed);
        }
        if (auto st = check_binds(manifest->containers[i], written); !st) return st;
        return end_released();
      };
      archive = node.checkpoints.follow_archive(workspace_id, checkpoint_id, facts.name, cut_through->follow, ctx, gate);
      archive = archive ? Result<std::unique_ptr<ByteSource>>(std::make_unique<FollowedArchive>(std::move(*archive)))
                        : Result<std::unique_ptr<ByteSource>>(source_stopped(archive.error()));
    }
    if (!archive) return give_up(node, plan, claim, archive.error());
    FaultSource faulty(**archive, node.faults, "restore.mid-import", node.settings.mid_transfer_fault_bytes);
    auto restored = node.engine.restore(faulty, facts, options_for(plan, facts), ctx, hints);
    if (!restored) return give_up(node, plan, claim, restored.error().wrap("restoring " + facts.name));
    result.containers.push_back(std::move(*restored));
  }
  if (!manifest) return give_up(node, plan, claim, Error(ErrorCode::kInternal, "restored without a seal"));
  for (const auto& c : manifest->containers) result.archive_bytes += c.archive.plain_size;
  node.faults.reach("restore.before-finish");
  auto finished = claim.take(ClaimStep::kFinishRestore, node.node);
  if (!finished) return finished.error();  // leaves the journal: recovery settles it
  (void)node.journal.finish(workspace_id, checkpoint_id, Phase::kRestore);
  result.duration = std::chrono::duration_cast<Millis>(node.clock.now() - started);
  return result;
}

Result<Restored> finish_interrupted_restore(NodeServices& node, const std::string& workspace_id,
                                            const std::string& checkpoint_id, const OperationContext& ctx) {
  (void)ctx;  // reattaching only inspects
  auto plan = read_plan(node, workspace_id, checkpoint_id);
  if (!plan) return plan.error();
  ClaimLog claim(node.documents, node.verify_keys(), workspace_id, checkpoint_id);
  auto current = claim.current();
  if (!current) return current.error();
  const bool ours = current->node == node.node;
  const bool importing = ours && current->state == ClaimState::kRestoring;
  const bool restored = ours && current->state == ClaimState::kRestored;
  if (!importing && !restored) {
    // Podman imports only after the claim is taken: without it nothing was
    // made; an abandoned one was abandoned only after everything was removed.
    (void)node.journal.finish(workspace_id, checkpoint_id, Phase::kRestore);
    return Error(ErrorCode::kConflict, "checkpoint " + checkpoint_id + " is " + std::string(to_string(current->state)) +
                                           (current->node.empty() ? "" : " by node " + current->node) +
                                           ": no restore of it by this node is pending");
  }
  // An archive's end reached Podman before the restore stopped: Podman may
  // still be importing it, so a container not there yet may still come up.
  auto entry = node.journal.find(workspace_id, checkpoint_id, Phase::kRestore);
  const bool end_sent = importing && entry && entry->has_value() && (*entry)->step == Step::kSettling;
  std::uint64_t archive_bytes = 0;
  if (end_sent) {
    if (auto sealed = read_bound_manifest(node, *plan); sealed) {
      for (const auto& c : sealed->containers) archive_bytes = std::max(archive_bytes, c.archive.plain_size);
    }
  }
  const std::string& label = node.engine.config().workspace_label;
  Restored result;
  result.primary = plan->primary;
  for (const auto& c : plan->containers) {
    auto id = c.labels.find(label);
    if (end_sent) {
      // Without a new name Podman keeps the container's id.
      const bool renamed = options_for(*plan, c).name.has_value();
      auto outcome = node.engine.await_outcome(renamed ? name_on_destination(*plan, c) : c.id, archive_bytes);
      if (!outcome) return outcome.error();  // unknown: the claim and the journal stay
    }
    auto ws = node.engine.reattach(name_on_destination(*plan, c), id == c.labels.end() ? "" : id->second);
    if (!ws) {
      if (restored) {
        // Settled once and handed over: not half-made, and not ours to remove.
        (void)node.journal.finish(workspace_id, checkpoint_id, Phase::kRestore);
        return ws.error().wrap("checkpoint " + checkpoint_id + " was restored here but is not running now");
      }
      return give_up(node, *plan, claim, ws.error().wrap("the restore was interrupted"));
    }
    result.containers.push_back(std::move(*ws));
  }
  if (importing) {
    if (auto finished = claim.take(ClaimStep::kFinishRestore, node.node); !finished) return finished.error();
  }
  (void)node.journal.finish(workspace_id, checkpoint_id, Phase::kRestore);
  return result;
}

}  // namespace wscp::migration
