#include "migration/checkpoint_phase.h"

#include <set>

#include "migration/claim.h"
#include "migration/fault_streams.h"
#include "migration/plan_phase.h"
#include "migration/source_phases.h"
#include "migration/source_recovery.h"
#include "migration/workspace_lock.h"
#include "store/crypto.h"

namespace wscp::migration {
namespace {

using Millis = std::chrono::milliseconds;

JournalEntry entry_for(NodeServices& node, const Plan& plan, Phase phase, Step step) {
  JournalEntry e{plan.checkpoint_id, plan.workspace_id, phase, step, node.node, node.checkpoints.objects().describe(),
                 {}, node.clock.wall_now(), node.clock.wall_now(), ""};
  for (const auto& c : plan.containers) e.containers.push_back(c.name);
  return e;
}

Status store_images(NodeServices& node, const Plan& plan, std::vector<std::string>& stored,
                    const OperationContext& ctx) {
  std::set<std::string> done;
  for (const auto& c : plan.containers) {
    const std::string digest = image_digest(c.image_id);
    if (!done.insert(digest).second) continue;
    auto found = node.checkpoints.find_image(digest);
    if (!found) return found.error();
    if (found->has_value()) {
      // Written again so that its age, by which unreferenced images are
      // collected, counts from this checkpoint until its manifest names it.
      if (auto st = node.checkpoints.write_image_meta(**found, ctx); !st) return st.error();
      continue;
    }
    std::vector<std::string> names;
    if (!c.image_name.empty()) names.push_back(c.image_name);
    auto writer = node.checkpoints.create_image(digest, names, "oci-archive", ctx);
    if (!writer) return writer.error();
    if (auto st = node.engine.client().export_image(c.image_name.empty() ? c.image_id : c.image_name, **writer, ctx);
        !st) {
      return st.error().wrap("exporting image " + c.image_name);
    }
    if (auto st = (*writer)->close(); !st) return st.error().wrap("storing image " + c.image_name);
    stored.push_back(digest);
  }
  return Ok{};
}

// Nobody decided the checkpoint's fate yet, or a destination is restoring
// it as it is written (it releases nothing to Podman before the seal).
bool may_seal(const Claim& claim) {
  return claim.state == ClaimState::kNone || claim.state == ClaimState::kRestoring;
}

bool store_unreachable(const Error& e) {
  return e.code() == ErrorCode::kUnavailable || e.code() == ErrorCode::kDeadlineExceeded;
}

// Before the seal the source decides alone: it resumes (taking the resume
// claim first, so a manifest that was written after all cannot be restored
// too) with a context of its own, since the failed one may be cancelled.
// When the store cannot be reached and no manifest was ever sent to it, no
// restore of this checkpoint is possible, so the workspace comes back from
// Podman's kept checkpoint without the claim; the journal keeps a resume
// entry so that `resume --pending`, once the store answers, records the
// claim and frees the lock.
Error abandon_before_seal(NodeServices& node, const Plan& plan, const Error& why, bool manifest_sent = false) {
  auto back = resume_source(node, plan.workspace_id, plan.checkpoint_id, OperationContext{});
  if (back) return Error(why.code(), why.message() + "; the workspace runs on the source again");
  if (!manifest_sent && store_unreachable(back.error())) {
    (void)node.journal.record(entry_for(node, plan, Phase::kResume, Step::kResuming));
    auto local = bring_back_on_source(node, plan, std::nullopt, OperationContext{});
    if (local) {
      (void)node.journal.finish(plan.workspace_id, plan.checkpoint_id, Phase::kCheckpoint);
      return Error(why.code(), why.message() +
                                   "; the workspace runs on the source again, but the store is unreachable (" +
                                   back.error().message() +
                                   "): run `wscp-agent resume --pending` on this node once it answers, to free "
                                   "the workspace's lock");
    }
    back = local.error();
  }
  return Error(why.code(), why.message() + "; bringing the workspace back on the source failed too (" +
                               back.error().message() + "); the journal keeps it for `wscp-agent resume --pending`");
}

}  // namespace

Result<store::Manifest> read_sealed(NodeServices& node, const Plan& plan) {
  auto manifest = node.checkpoints.read_manifest(plan.workspace_id, plan.checkpoint_id, OperationContext{});
  if (!manifest) return manifest.error();
  auto bound = manifest->facts.find("planSha256");
  if (plan.document_sha256.empty()) {
    return Error(ErrorCode::kInternal, "checkpoint " + plan.checkpoint_id + ": the plan was not read from the store");
  }
  if (bound == manifest->facts.end() || !bound->is_string() || bound->get<std::string>() != plan.document_sha256) {
    return Error(ErrorCode::kIntegrity, "the manifest of checkpoint " + plan.checkpoint_id +
                                            " does not bind its plan: one of them was swapped; refusing both");
  }
  return manifest;
}

Result<Sealed> checkpoint_workspace(NodeServices& node, const Plan& plan, const OperationContext& ctx) {
  const auto started = node.clock.now();
  if (auto sealed = read_sealed(node, plan); sealed) {
    return Sealed{std::move(*sealed), {}, {}, Millis(0)};  // done before: idempotent
  } else if (sealed.error().code() != ErrorCode::kNotFound) {
    return sealed.error();
  }
  if (plan.document_sha256.empty()) {
    return Error(ErrorCode::kNotFound, "checkpoint " + plan.checkpoint_id + " has no plan: make the plan first");
  }

  // A checkpoint whose claim was taken (resumed before the seal, say) is
  // over: dumping it again would freeze a workspace nobody may restore. A
  // destination restoring it as it is written (cut-through) holds it too.
  auto claim = ClaimLog(node.documents, node.verify_keys(), plan.workspace_id, plan.checkpoint_id).current();
  if (!claim) return claim.error();
  if (!may_seal(*claim)) {
    return Error(ErrorCode::kConflict, "checkpoint " + plan.checkpoint_id + " is already " +
                                           std::string(to_string(claim->state)) + " by node " + claim->node +
                                           ": plan a new checkpoint; the workspace was not touched");
  }
  // A previous attempt that died while dumping is recovery's to finish.
  auto earlier = node.journal.find(plan.workspace_id, plan.checkpoint_id, Phase::kCheckpoint);
  if (!earlier) return earlier.error();
  if (earlier->has_value() && (*earlier)->step != Step::kPlanned) {
    return Error(ErrorCode::kConflict, "an earlier attempt at checkpoint " + plan.checkpoint_id + " stopped while " +
                                           std::string(to_string((*earlier)->step)) +
                                           ": run `wscp-agent resume --pending` on this node first");
  }
  // Holds (or extends) the lock: it may have been freed since the plan.
  auto held = WorkspaceLock(node.documents, node.verify_keys(), plan.workspace_id)
                  .acquire(node.node, plan.checkpoint_id, node.settings.lock_ttl);
  if (!held) return held.error().wrap("the workspace was not touched");

  Sealed result;
  auto untouched = [&](const Error& why) {
    // Nothing is frozen yet: the workspace never stopped.
    (void)WorkspaceLock(node.documents, node.verify_keys(), plan.workspace_id).release(node.node, plan.checkpoint_id);
    (void)node.journal.finish(plan.workspace_id, plan.checkpoint_id, Phase::kCheckpoint);
    return why.wrap("the workspace was not touched");
  };
  if (auto st = store_images(node, plan, result.images_stored, ctx); !st) return untouched(st.error());
  // Storing the images takes a while: a cut-through restore may have given
  // its claim up meanwhile, and nobody could restore what is dumped now.
  if (auto now = ClaimLog(node.documents, node.verify_keys(), plan.workspace_id, plan.checkpoint_id).current();
      !now || !may_seal(*now)) {
    return untouched(now ? Error(ErrorCode::kConflict, "checkpoint " + plan.checkpoint_id + " is " +
                                                           std::string(to_string(now->state)) + " by node " +
                                                           now->node + " before its dump")
                         : now.error());
  }

  if (auto st = node.journal.record(entry_for(node, plan, Phase::kCheckpoint, Step::kDumping)); !st) {
    return st.error().wrap("the workspace was not touched");
  }
  node.faults.reach("checkpoint.before-dump");

  store::Manifest manifest;
  manifest.checkpoint_id = plan.checkpoint_id;
  manifest.workspace_id = plan.workspace_id;
  manifest.node = node.node;
  manifest.created_at = plan.created_at;
  podman::CheckpointOptions options = plan.checkpoint;
  options.keep = true;  // what makes an in-place resume possible
  for (const auto& c : plan.containers) {
    auto writer = node.checkpoints.create_archive(plan.workspace_id, plan.checkpoint_id, c.name, ctx);
    if (!writer) return abandon_before_seal(node, plan, writer.error().wrap("checkpoint of " + c.name));
    FaultSink faulty(**writer, node.faults, "checkpoint.mid-upload", node.settings.mid_transfer_fault_bytes);
    auto dump = node.engine.checkpoint(c.id, options, faulty, ctx);
    Status durable = dump ? (*writer)->close() : Status(dump.error());
    if (!durable) {
      writer->reset();  // its memory and uploads go before the workspace comes back
      return abandon_before_seal(node, plan, durable.error().wrap("checkpoint of " + c.name));
    }
    store::ContainerEntry entry;
    entry.name = c.name;
    entry.image_id = image_digest(c.image_id);
    entry.archive = (*writer)->result();
    entry.facts = dump->facts;
    manifest.containers.push_back(std::move(entry));
    result.dumps.push_back(std::move(*dump));
  }
  node.faults.reach("checkpoint.before-seal");

  for (const auto& c : plan.containers) {
    const std::string digest = image_digest(c.image_id);
    auto image = node.checkpoints.find_image(digest);
    if (!image) return abandon_before_seal(node, plan, image.error());
    if (!image->has_value()) {
      return abandon_before_seal(node, plan, Error(ErrorCode::kNotFound, "image " + digest + " vanished from the store"));
    }
    bool listed = false;
    for (const auto& i : manifest.images) listed = listed || i.id == digest;
    if (!listed) manifest.images.push_back(**image);
  }
  manifest.facts = nlohmann::json{{"planSha256", plan.document_sha256},
                                  {"project", plan.project},
                                  {"primary", plan.primary}};
  auto still_open = ClaimLog(node.documents, node.verify_keys(), plan.workspace_id, plan.checkpoint_id).current();
  if (!still_open || !may_seal(*still_open)) {
    return abandon_before_seal(node, plan, Error(ErrorCode::kConflict, "the checkpoint was claimed before its seal"));
  }
  if (auto st = node.checkpoints.write_manifest(manifest, ctx); !st) {
    // The store may have kept it although its answer was lost.
    return abandon_before_seal(node, plan, st.error().wrap("sealing the checkpoint"), /*manifest_sent=*/true);
  }
  node.faults.reach("checkpoint.after-seal");
  if (auto st = node.journal.record(entry_for(node, plan, Phase::kCheckpoint, Step::kSealed)); !st) {
    // Sealed all the same: the store says so, and recovery reads the store.
    return st.error().wrap("checkpoint " + plan.checkpoint_id + " is sealed but could not be journalled");
  }
  result.manifest = std::move(manifest);
  result.duration = std::chrono::duration_cast<Millis>(node.clock.now() - started);
  return result;
}

}  // namespace wscp::migration
