// The node-local phases as one-shot verbs, so that a migration can be run by
// hand across two machines that share only a store:
//   source:       wscp-agent plan ...        (prints the checkpoint id)
//   destination:  wscp-agent preflight ...
//   source:       wscp-agent checkpoint ...
//   destination:  wscp-agent restore ...
//   source:       wscp-agent release ...     (or resume, if the restore failed)
//   any node:     wscp-agent delete ...      (the archive, once nobody needs it)
#include <nlohmann/json.hpp>

#include "agent/cli/commands.h"
#include "agent/cli/node_runtime.h"
#include "agent/cli/output.h"
#include "agent/cli/progress_bar.h"
#include "migration/archive_retention.h"
#include "migration/checkpoint_phase.h"
#include "migration/plan_phase.h"
#include "migration/recovery.h"
#include "migration/restore_phase.h"
#include "migration/source_phases.h"

namespace wscp::agent {
namespace {

struct PhaseArgs {
  NodeArgs node;
  StoreArgs store;
  std::string workspace;
  std::string checkpoint;
  bool json = false;
};

void add_common(CLI::App& cmd, PhaseArgs& a, bool names_checkpoint) {
  a.node.add_to(cmd);
  a.store.add_to(cmd);
  if (names_checkpoint) {
    cmd.add_option("--workspace", a.workspace, "The workspace id")->required();
    cmd.add_option("--checkpoint", a.checkpoint, "The checkpoint id (printed by `plan`)")->required();
  }
  add_output_options(cmd, a.json);
}

// Runs fn with this node's services; prints its JSON (or text) and exits.
template <typename Fn>
[[noreturn]] void run_phase(const PhaseArgs& a, Fn&& fn) {
  auto rt = NodeRuntime::open(a.node, a.store);
  if (!rt) throw CLI::RuntimeError(report_error(rt.error()));
  OperationContext ctx;
  ctx.operation_id = a.checkpoint;
  ProgressDisplay progress(std::cerr, stderr_is_terminal(), terminal_width());
  if (!a.json) ctx.on_progress = progress.fn();
  Result<nlohmann::json> out = fn((*rt)->services(), ctx);
  progress.finish();
  if (!out) throw CLI::RuntimeError(report_error(out.error()));
  if (a.json) {
    std::cout << out->dump(2) << "\n";
  } else if (out->contains("message")) {
    std::cout << out->at("message").get<std::string>() << "\n";
  }
  throw CLI::RuntimeError(kExitOk);
}

nlohmann::json workspaces_json(const std::vector<podman::Workspace>& list) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& w : list) j.push_back({{"workspace", w.id}, {"container", w.container.name}, {"id", w.container.id}});
  return j;
}

void add_plan(CLI::App& app) {
  auto a = std::make_shared<PhaseArgs>();
  auto req = std::make_shared<migration::PlanRequest>();
  auto new_name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("plan", "Source: plan a checkpoint of a workspace (nothing is frozen yet)");
  add_common(*cmd, *a, false);
  auto* one = cmd->add_option("--container", req->workspace, "Container name/id or workspace id");
  cmd->add_option("--project", req->project, "A compose project: all its services")->excludes(one);
  cmd->add_option("--checkpoint", req->checkpoint_id, "Use this checkpoint id (default: a new one)");
  cmd->add_flag("--tcp-established", req->checkpoint.tcp_established, "Keep established TCP connections");
  cmd->add_flag("--file-locks", req->checkpoint.file_locks, "Checkpoint and restore file locks");
  cmd->add_option("--new-name", *new_name, "Restore the primary container under this name (new id and IP)");
  cmd->callback([a, req, new_name] {
    if (req->workspace.empty() && req->project.empty()) {
      throw CLI::ValidationError("plan", "name what to checkpoint: --container NAME or --project NAME");
    }
    if (!new_name->empty()) req->restore.name = *new_name;
    run_phase(*a, [&](migration::NodeServices& node, const OperationContext&) -> Result<nlohmann::json> {
      auto plan = migration::make_plan(node, *req);
      if (!plan) return plan.error();
      return nlohmann::json{{"workspace", plan->workspace_id},
                            {"checkpoint", plan->checkpoint_id},
                            {"node", plan->source_node},
                            {"containers", plan->containers.size()},
                            {"message", "planned checkpoint " + plan->checkpoint_id + " of workspace " +
                                            plan->workspace_id + " on node " + plan->source_node}};
    });
  });
}

void add_preflight(CLI::App& app) {
  auto a = std::make_shared<PhaseArgs>();
  auto* cmd = app.add_subcommand("preflight", "Destination: check that this node can restore a planned checkpoint");
  add_common(*cmd, *a, true);
  cmd->callback([a] {
    run_phase(*a, [&](migration::NodeServices& node, const OperationContext&) -> Result<nlohmann::json> {
      auto plan = migration::read_plan(node, a->workspace, a->checkpoint);
      if (!plan) return plan.error();
      if (auto st = migration::preflight_plan(node.engine, *plan); !st) return st.error();
      return nlohmann::json{{"ok", true}, {"message", "node " + node.node + " can restore checkpoint " + a->checkpoint}};
    });
  });
}

void add_checkpoint(CLI::App& app) {
  auto a = std::make_shared<PhaseArgs>();
  auto* cmd = app.add_subcommand("checkpoint", "Source: dump a planned workspace into the store and seal it");
  add_common(*cmd, *a, true);
  cmd->callback([a] {
    run_phase(*a, [&](migration::NodeServices& node, const OperationContext& ctx) -> Result<nlohmann::json> {
      auto plan = migration::read_plan(node, a->workspace, a->checkpoint);
      if (!plan) return plan.error();
      auto sealed = migration::checkpoint_workspace(node, *plan, ctx);
      if (!sealed) return sealed.error();
      std::uint64_t stored = 0;
      for (const auto& c : sealed->manifest.containers) stored += c.archive.stored.size;
      nlohmann::json j{{"checkpoint", a->checkpoint}, {"storedBytes", stored}, {"durationMs", sealed->duration.count()},
                       {"message", "sealed checkpoint " + a->checkpoint + " (" + std::to_string(stored) +
                                       " bytes stored); restore it on the destination, then release this node"}};
      if (!sealed->dumps.empty() && sealed->dumps.front().stats) j["criu"] = *sealed->dumps.front().stats;
      return j;
    });
  });
}

void add_restore(CLI::App& app) {
  auto a = std::make_shared<PhaseArgs>();
  auto* cmd = app.add_subcommand("restore", "Destination: restore a sealed checkpoint on this node");
  add_common(*cmd, *a, true);
  auto follow_seconds = std::make_shared<double>(0);
  cmd->add_option("--cut-through", *follow_seconds,
                  "Begin while the source is still writing the checkpoint, waiting up to SECONDS for each part of "
                  "it (the plan, images, archive segments) to appear")
      ->check(CLI::Range(1.0, 3600.0));
  cmd->callback([a, follow_seconds] {
    run_phase(*a, [&](migration::NodeServices& node, const OperationContext& ctx) -> Result<nlohmann::json> {
      std::optional<migration::CutThrough> cut_through;
      if (*follow_seconds > 0) {
        cut_through = migration::CutThrough{};
        cut_through->follow.timeout = std::chrono::milliseconds(static_cast<long long>(*follow_seconds * 1000));
      }
      auto restored = migration::restore_workspace(node, a->workspace, a->checkpoint, ctx, cut_through);
      if (!restored) return restored.error();
      return nlohmann::json{{"containers", workspaces_json(restored->containers)},
                            {"primary", restored->primary},
                            {"imagesLoaded", restored->images_loaded},
                            {"durationMs", restored->duration.count()},
                            {"cutThrough", restored->cut_through},
                            {"message", "restored workspace " + a->workspace + " on node " + node.node +
                                            (restored->cut_through ? " (cut through)" : "") +
                                            "; release the source now"}};
    });
  });
}

void add_release(CLI::App& app) {
  auto a = std::make_shared<PhaseArgs>();
  auto* cmd = app.add_subcommand("release", "Source: remove the checkpointed copy once the destination restored it");
  add_common(*cmd, *a, true);
  cmd->callback([a] {
    run_phase(*a, [&](migration::NodeServices& node, const OperationContext& ctx) -> Result<nlohmann::json> {
      if (auto st = migration::release_source(node, a->workspace, a->checkpoint, ctx); !st) return st.error();
      return nlohmann::json{{"released", true}, {"message", "released the source copy of workspace " + a->workspace}};
    });
  });
}

void add_resume(CLI::App& app) {
  auto a = std::make_shared<PhaseArgs>();
  auto pending = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("resume", "Source: bring a workspace back here (or finish what the journal holds)");
  a->node.add_to(*cmd);
  a->store.add_to(*cmd);
  cmd->add_option("--workspace", a->workspace, "The workspace id");
  cmd->add_option("--checkpoint", a->checkpoint, "The checkpoint id");
  cmd->add_flag("--pending", *pending, "Finish or undo every step this node's journal holds");
  add_output_options(*cmd, a->json);
  cmd->callback([a, pending] {
    if (*pending == !(a->workspace.empty() && a->checkpoint.empty())) {
      throw CLI::ValidationError("resume", "give either --workspace and --checkpoint, or --pending");
    }
    run_phase(*a, [&](migration::NodeServices& node, const OperationContext& ctx) -> Result<nlohmann::json> {
      if (!*pending) {
        auto back = migration::resume_source(node, a->workspace, a->checkpoint, ctx);
        if (!back) return back.error();
        return nlohmann::json{{"containers", workspaces_json(*back)},
                              {"message", "workspace " + a->workspace + " runs on node " + node.node + " again"}};
      }
      auto report = migration::recover_pending(node, ctx);
      if (!report) return report.error();
      nlohmann::json entries = nlohmann::json::array();
      std::string text;
      for (const auto& r : *report) {
        entries.push_back({{"checkpoint", r.entry.checkpoint_id},
                           {"workspace", r.entry.workspace_id},
                           {"phase", migration::to_string(r.entry.phase)},
                           {"step", migration::to_string(r.entry.step)},
                           {"action", migration::to_string(r.action)},
                           {"outcome", r.outcome},
                           {"pending", r.pending},
                           {"error", r.error ? r.error->describe() : ""}});
        text += r.entry.checkpoint_id + " (" + std::string(migration::to_string(r.entry.phase)) + "): " + r.outcome +
                (r.error ? ": " + r.error->describe() : "") + "\n";
      }
      if (text.empty()) text = "nothing pending\n";
      text.pop_back();
      for (const auto& r : *report) {
        if (r.error) {
          return Error(r.error->code(), "some journal entries could not be finished:\n" + text);
        }
      }
      return nlohmann::json{{"entries", entries}, {"message", text}};
    });
  });
}

void add_delete(CLI::App& app) {
  auto a = std::make_shared<PhaseArgs>();
  auto grace = std::make_shared<long long>(3600);
  auto* cmd = app.add_subcommand(
      "delete", "Any node: delete a checkpoint's archive from the store once no workspace needs it, then collect "
                "the images no sealed checkpoint names");
  add_common(*cmd, *a, true);
  cmd->add_option("--image-grace", *grace,
                  "Seconds an unreferenced image is kept after it was stored (longer than the slowest checkpoint)")
      ->check(CLI::Range(0LL, 30LL * 24 * 3600))
      ->capture_default_str();
  cmd->callback([a, grace] {
    run_phase(*a, [&](migration::NodeServices& node, const OperationContext& ctx) -> Result<nlohmann::json> {
      auto done = migration::delete_checkpoint(
          node, a->workspace, a->checkpoint,
          [&]() -> std::optional<std::chrono::seconds> { return std::chrono::seconds(*grace); }, ctx);
      if (!done) return done.error();
      nlohmann::json out{{"objects", done->deleted.objects},
                         {"bytes", done->deleted.bytes},
                         {"message", done->describe(a->workspace, a->checkpoint)}};
      if (done->images) {
        out["imagesRemoved"] = done->images->removed;
        out["imagesKept"] = done->images->kept;
      }
      if (done->collection_failed) out["imageCollectionError"] = done->collection_failed->describe();
      return out;
    });
  });
}

}  // namespace

void add_phase_commands(CLI::App& app) {
  add_plan(app);
  add_preflight(app);
  add_checkpoint(app);
  add_restore(app);
  add_release(app);
  add_resume(app);
  add_delete(app);
}

}  // namespace wscp::agent
