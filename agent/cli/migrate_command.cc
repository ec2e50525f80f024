// `wscp-agent migrate`: moves one workspace between two Podman services
// (two nodes) through a store, without Kubernetes, by running the
// node-local phases (plan, pre-flight, checkpoint, restore, release or
// resume) for both nodes from this one process.
#include <nlohmann/json.hpp>

#include "agent/cli/commands.h"
#include "agent/cli/node_runtime.h"
#include "agent/cli/output.h"
#include "agent/cli/progress_bar.h"
#include "agent/cli/stage_timeline.h"
#include "migration/migrate_flow.h"
#include "podman/project.h"

namespace wscp::agent {
namespace {

using migration::Outcome;

struct MigrateArgs {
  NodeArgs from;
  NodeArgs to;
  StoreArgs store;
  std::string workspace;
  std::string project;
  std::string checkpoint_id;
  std::string criu_probe = "auto";
  std::string workspace_label = "dev.containers.id";
  std::string dest_host_root = "/";
  std::string new_name;
  double settle_seconds = 5;
  bool tcp_established = false;
  bool file_locks = false;
  bool sequential = false;
  double follow_timeout_seconds = 120;
  bool json = false;
};

constexpr const char* kJournalRoot = "/var/lib/wscp/journal";

int exit_code(Outcome o) {
  switch (o) {
    case Outcome::kMigrated: return kExitOk;
    case Outcome::kKeptOnSource: return kExitFailed;
    case Outcome::kStopped: return kExitCritical;
  }
  return kExitCritical;
}

std::string outcome_name(Outcome o) { return std::string(migration::to_string(o)); }

// Where the primary container runs now, or its facts from the plan.
podman::Workspace primary_of(const migration::MigrationReport& r) {
  const std::string wanted = r.plan.restore.name && r.outcome == Outcome::kMigrated ? *r.plan.restore.name
                                                                                    : r.plan.primary;
  for (const auto& w : r.running) {
    if (w.container.name == wanted) return w;
  }
  for (const auto& c : r.plan.containers) {
    if (c.name == r.plan.primary) return {r.plan.workspace_id, c};
  }
  return {r.plan.workspace_id, {}};
}

bool image_shipped(const migration::MigrationReport& r) { return r.restored && !r.restored->images_loaded.empty(); }

std::uint64_t archive_bytes(const migration::MigrationReport& r) {
  std::uint64_t n = 0;
  if (r.sealed) {
    for (const auto& d : r.sealed->dumps) n += d.archive_bytes;
  }
  return n;
}

std::uint64_t stored_bytes(const migration::MigrationReport& r) {
  std::uint64_t n = 0;
  if (r.sealed) {
    for (const auto& c : r.sealed->manifest.containers) n += c.archive.stored.size;
  }
  return n;
}

// What to run on each node when the workspace is left running nowhere.
std::string recovery_hint(const MigrateArgs& a, const std::string& source, const std::string& destination) {
  return "the journals keep what is unfinished: run `wscp-agent resume --pending --node " + source + " --socket " +
         a.from.socket + " --journal " + a.from.journal_dir + " --via " + a.store.via +
         " ...` for the source, and the same with --node " + destination + " --socket " + a.to.socket +
         " --journal " + a.to.journal_dir + " for the destination";
}

nlohmann::json common_json(const migration::MigrationReport& r) {
  nlohmann::json j{{"outcome", outcome_name(r.outcome)},
                   {"workspace", r.plan.workspace_id},
                   {"checkpoint", r.plan.checkpoint_id},
                   {"imageShipped", image_shipped(r)},
                   {"archiveBytes", archive_bytes(r)},
                   {"storedBytes", stored_bytes(r)},
                   {"checkpointMs", r.checkpoint_duration.count()},
                   {"restoreMs", r.restore_duration.count()},
                   {"moveMs", r.move_duration.count()},
                   {"cutThrough", r.cut_through},
                   {"onDestinationOnly", r.on_destination_only},
                   {"notRunning", r.not_running},
                   {"onBoth", r.on_both},
                   {"unknown", r.unknown},
                   {"warnings", r.warnings}};
  if (r.failure) j["failure"] = r.failure->describe();
  return j;
}

nlohmann::json to_json(const migration::MigrationReport& r) {
  nlohmann::json j = common_json(r);
  const auto primary = primary_of(r);
  j["containerId"] = primary.container.id;
  j["containerName"] = primary.container.name;
  j["image"] = primary.container.image_name;
  if (r.sealed && !r.sealed->dumps.empty() && r.sealed->dumps.front().stats) j["criu"] = *r.sealed->dumps.front().stats;
  return j;
}

nlohmann::json project_json(const migration::MigrationReport& r) {
  nlohmann::json j = common_json(r);
  j["project"] = r.plan.project;
  nlohmann::json services = nlohmann::json::array();
  std::chrono::milliseconds dumps{0};
  for (std::size_t i = 0; i < r.plan.containers.size(); ++i) {
    const auto& c = r.plan.containers[i];
    nlohmann::json s{{"service", podman::service_of(c)}, {"container", c.name}};
    if (r.sealed && i < r.sealed->dumps.size()) {
      const auto& d = r.sealed->dumps[i];
      s["archiveBytes"] = d.archive_bytes;
      s["checkpointMs"] = d.duration.count();
      if (d.stats) s["criu"] = *d.stats;
      dumps += d.duration;
    }
    if (c.name == r.plan.primary) j["primaryService"] = podman::service_of(c);
    services.push_back(std::move(s));
  }
  j["services"] = std::move(services);
  // The services are dumped back to back: the sum of the dumps is how long
  // the first frozen service waited for the last one.
  j["dumpGapMs"] = dumps.count();
  j["imagesShipped"] = r.restored ? r.restored->images_loaded : std::vector<std::string>{};
  return j;
}

void print_human(const migration::MigrationReport& r) {
  const bool project = !r.plan.project.empty();
  const std::string what = project ? "project " + r.plan.project : "workspace " + r.plan.workspace_id;
  if (r.outcome == Outcome::kMigrated) {
    if (project) {
      std::cout << "migrated project " << r.plan.project << ": " << r.plan.containers.size() << " services, primary "
                << r.plan.primary << " (workspace " << r.plan.workspace_id << ")\n";
    } else {
      const auto primary = primary_of(r);
      std::cout << "migrated workspace " << r.plan.workspace_id << " (container " << primary.container.name << ", "
                << primary.container.id.substr(0, 12) << ")\n";
    }
  } else {
    std::cout << what << " " << outcome_name(r.outcome) << ": "
              << (r.failure ? r.failure->describe() : std::string("see the warnings")) << "\n";
  }
  std::cout << "  checkpoint " << r.plan.checkpoint_id << ": archive " << archive_bytes(r) << " bytes ("
            << stored_bytes(r) << " stored), checkpoint " << r.checkpoint_duration.count() << " ms, restore "
            << r.restore_duration.count() << " ms" << (r.cut_through ? " (cut through, overlapping)" : "")
            << ", moved in " << r.move_duration.count() << " ms" << (image_shipped(r) ? ", image shipped" : "") << "\n";
  if (r.sealed && !r.sealed->dumps.empty() && r.sealed->dumps.front().stats) {
    const auto& stats = *r.sealed->dumps.front().stats;
    std::cout << "  CRIU: frozen " << stats.frozen_time_us / 1000 << " ms, " << stats.pages_written
              << " pages written\n";
  }
  for (const auto& n : r.on_destination_only) std::cout << "  runs on the destination only: " << n << "\n";
  for (const auto& n : r.not_running) std::cout << "  runs nowhere: " << n << "\n";
  for (const auto& n : r.on_both) std::cout << "  RUNS ON BOTH NODES: " << n << " (stop one copy)\n";
  for (const auto& n : r.unknown) std::cout << "  state unknown (a node's Podman did not answer): " << n << "\n";
  for (const auto& w : r.warnings) std::cout << "  warning: " << w << "\n";
}

int run(MigrateArgs& a) {
  for (NodeArgs* n : {&a.from, &a.to}) {
    n->workspace_label = a.workspace_label;
    n->criu_probe = a.criu_probe;
    n->settle_seconds = a.settle_seconds;
  }
  a.to.host_root = a.dest_host_root;
  if (a.from.journal_dir.empty()) a.from.journal_dir = std::string(kJournalRoot) + "/" + a.from.node;
  if (a.to.journal_dir.empty()) a.to.journal_dir = std::string(kJournalRoot) + "/" + a.to.node;
  auto source = NodeRuntime::open(a.from, a.store);
  if (!source) return report_error(source.error().wrap("the source node"));
  auto destination = NodeRuntime::open_beside(a.to, **source);
  if (!destination) return report_error(destination.error().wrap("the destination node"));

  migration::PlanRequest request;
  request.workspace = a.workspace;
  request.project = a.project;
  request.checkpoint_id = a.checkpoint_id;
  request.checkpoint.tcp_established = a.tcp_established;
  request.checkpoint.file_locks = a.file_locks;
  request.restore.tcp_established = a.tcp_established;
  request.restore.file_locks = a.file_locks;
  if (!a.new_name.empty()) request.restore.name = a.new_name;

  // Declared before the context that reports to them, so they outlive it.
  StageTimeline stages;
  ProgressDisplay progress(std::cerr, stderr_is_terminal(), terminal_width());
  OperationContext ctx;
  ctx.operation_id = "migrate-" + (a.project.empty() ? a.workspace : a.project);
  ctx.on_progress = stages.tee(a.json ? ProgressFn{} : progress.fn());
  migration::MigrateOptions options;
  options.cut_through = !a.sequential;
  options.follow.follow.timeout = std::chrono::milliseconds(static_cast<long long>(a.follow_timeout_seconds * 1000));
  auto report =
      migration::migrate_workspace((*source)->services(), (*destination)->services(), request, ctx, options);
  progress.finish();
  if (!report) return report_error(report.error());
  if (report->outcome == Outcome::kStopped) {
    report->warnings.push_back(recovery_hint(a, a.from.node, a.to.node));
  }
  if (a.json) {
    auto j = a.project.empty() ? to_json(*report) : project_json(*report);
    j["stages"] = stages.to_json();
    std::cout << j.dump(2) << "\n";
  } else {
    print_human(*report);
  }
  return exit_code(report->outcome);
}

}  // namespace

void add_migrate_command(CLI::App& app) {
  auto args = std::make_shared<MigrateArgs>();
  args->from.node = "source";
  args->to.node = "destination";
  args->from.journal_dir.clear();
  args->to.journal_dir.clear();
  auto* cmd = app.add_subcommand("migrate", "Move a running workspace from one Podman service to another");
  cmd->footer(
      "Runs plan, pre-flight, checkpoint, restore and release (or resume on the source) for both nodes from this "
      "process, the restore reading the archive while the checkpoint writes it; the checkpoint stays in the store under workspaces/<workspace>/checkpoints/<id>/ (see `wscp-agent "
      "list`). Exit codes: 0 migrated, 1 refused or kept on the source, 3 STOPPED (running nowhere: the journals "
      "and the store keep it).");
  args->from.add_to(*cmd, "from-", "the source node");
  args->to.add_to(*cmd, "to-", "the destination node");
  cmd->get_option("--from-socket")->required();
  cmd->get_option("--to-socket")->required();
  cmd->add_option("--from-journal", args->from.journal_dir,
                  "Where the source node journals its steps (default: /var/lib/wscp/journal/<from-node>)");
  cmd->add_option("--to-journal", args->to.journal_dir,
                  "Where the destination node journals its steps (default: /var/lib/wscp/journal/<to-node>)");
  auto* one = cmd->add_option("--container,--workspace", args->workspace, "Container name/id or workspace id");
  auto* project = cmd->add_option("--project", args->project,
                                  "A compose project (com.docker.compose.project label): all its services");
  one->excludes(project);
  cmd->add_option("--checkpoint", args->checkpoint_id, "Use this checkpoint id (default: a new one)");
  args->store.add_to(*cmd);
  cmd->add_option("--workspace-label", args->workspace_label, "Label that holds the workspace id")
      ->capture_default_str();
  cmd->add_option("--dest-host-root", args->dest_host_root,
                  "Where the destination node's filesystem is visible (bind-source checks)")
      ->capture_default_str();
  cmd->add_option("--new-name", args->new_name, "Restore under this name (new id and IP)");
  cmd->add_option("--settle-seconds", args->settle_seconds,
                  "How long a restored workspace must keep running before it counts as moved (and the "
                  "source's copy is removed)")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  cmd->add_flag("--sequential", args->sequential,
                "Start the restore only once the checkpoint is sealed (by default the destination restores while "
                "the archive is written: cut-through)");
  cmd->add_option("--follow-timeout", args->follow_timeout_seconds,
                  "Cut-through: how long the destination waits for the next part of the archive before it gives "
                  "up (the workspace then resumes on the source)")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str();
  cmd->add_flag("--tcp-established", args->tcp_established, "Keep established TCP connections");
  cmd->add_flag("--file-locks", args->file_locks, "Checkpoint and restore file locks");
  cmd->add_option("--criu-probe", args->criu_probe,
                  "auto: trust the runtime's +CRIU; present/absent: assert it")
      ->check(CLI::IsMember({"auto", "present", "absent"}))
      ->capture_default_str();
  add_output_options(*cmd, args->json);
  cmd->callback([args] {
    if (args->workspace.empty() && args->project.empty()) {
      throw CLI::ValidationError("migrate", "name what to move: --container NAME or --project NAME");
    }
    if (!args->project.empty() && !args->new_name.empty()) {
      throw CLI::ValidationError("migrate", "--new-name renames one container; it cannot apply to a --project");
    }
    if (args->from.node == args->to.node) {
      throw CLI::ValidationError("migrate", "--from-node and --to-node are both '" + args->from.node +
                                                "': the two nodes need different names");
    }
    throw CLI::RuntimeError(run(*args));
  });
}

}  // namespace wscp::agent
