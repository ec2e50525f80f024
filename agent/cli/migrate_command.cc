// `wscp-agent migrate`: moves one workspace between two Podman services
// (two nodes) through a directory, without Kubernetes.
#include <nlohmann/json.hpp>

#include "agent/cli/commands.h"
#include "agent/cli/output.h"
#include "agent/cli/store_options.h"
#include "podman/libpod_client.h"
#include "podman/migration.h"
#include "podman/project_migration.h"
#include "podman/store_spool.h"

namespace wscp::agent {
namespace {

struct MigrateArgs {
  std::string from_socket;
  std::string to_socket;
  std::string workspace;
  std::string project;
  StoreArgs store;
  std::string criu_probe = "auto";
  std::string workspace_label = "dev.containers.id";
  std::string dest_host_root = "/";
  std::string new_name;
  double settle_seconds = 5;
  bool tcp_established = false;
  bool file_locks = false;
  bool json = false;
};

const char* outcome_name(podman::MigrationOutcome o) {
  switch (o) {
    case podman::MigrationOutcome::kMigrated: return "migrated";
    case podman::MigrationOutcome::kKeptOnSource: return "kept-on-source";
    case podman::MigrationOutcome::kStopped: return "STOPPED";
  }
  return "unknown";
}

int exit_code(podman::MigrationOutcome o) {
  switch (o) {
    case podman::MigrationOutcome::kMigrated: return kExitOk;
    case podman::MigrationOutcome::kKeptOnSource: return kExitFailed;
    case podman::MigrationOutcome::kStopped: return kExitCritical;
  }
  return kExitCritical;
}

nlohmann::json to_json(const podman::MigrationResult& r) {
  nlohmann::json j{
      {"outcome", outcome_name(r.outcome)},
      {"workspace", r.workspace.id},
      {"containerId", r.workspace.container.id},
      {"containerName", r.workspace.container.name},
      {"image", r.workspace.container.image_name},
      {"imageShipped", r.image_shipped},
      {"archiveBytes", r.checkpoint.archive_bytes},
      {"checkpointMs", r.checkpoint.duration.count()},
      {"restoreMs", r.restore_duration.count()},
      {"warnings", r.warnings}};
  if (r.checkpoint.stats) j["criu"] = *r.checkpoint.stats;
  if (r.failure) j["failure"] = r.failure->describe();
  return j;
}

void print_human(const podman::MigrationResult& r) {
  if (r.outcome == podman::MigrationOutcome::kMigrated) {
    std::cout << "migrated workspace " << r.workspace.id << " (container " << r.workspace.container.name << ", "
              << r.workspace.container.id.substr(0, 12) << ")\n";
  } else {
    std::cout << "workspace " << outcome_name(r.outcome) << ": " << r.failure->describe() << "\n";
  }
  std::cout << "  archive: " << r.checkpoint.archive_bytes << " bytes, checkpoint " << r.checkpoint.duration.count()
            << " ms, restore " << r.restore_duration.count() << " ms"
            << (r.image_shipped ? ", image shipped" : "") << "\n";
  if (r.checkpoint.stats) {
    std::cout << "  CRIU: frozen " << r.checkpoint.stats->frozen_time_us / 1000 << " ms, "
              << r.checkpoint.stats->pages_written << " pages written\n";
  }
  for (const auto& w : r.warnings) std::cout << "  warning: " << w << "\n";
}

podman::EngineConfig::CriuProbe parse_probe(const std::string& text) {
  if (text == "present") return podman::EngineConfig::CriuProbe::kAssumePresent;
  if (text == "absent") return podman::EngineConfig::CriuProbe::kAssumeAbsent;
  return podman::EngineConfig::CriuProbe::kAuto;
}

int run_project(podman::Engine& source, podman::Engine& destination, podman::ArchiveSpool& spool,
                const MigrateArgs& a, const OperationContext& ctx) {
  podman::CheckpointOptions options;
  options.tcp_established = a.tcp_established;
  options.file_locks = a.file_locks;
  auto r = podman::migrate_project(source, destination, spool, a.project, options, ctx);
  if (!r.ok()) {
    report_error(r.error());
    // kRestoreFailed here means services could not be resumed after a failed dump.
    return r.error().code() == ErrorCode::kRestoreFailed ? kExitCritical : kExitFailed;
  }
  nlohmann::json services = nlohmann::json::array();
  for (const auto& s : r->checkpoint.services) {
    services.push_back({{"service", s.service}, {"container", s.facts.name}, {"archiveBytes", s.archive_bytes}});
  }
  nlohmann::json j{{"outcome", outcome_name(r->outcome)},
                   {"project", a.project},
                   {"primaryService", r->checkpoint.primary_service},
                   {"dumpGapMs", r->checkpoint.dump_gap.count()},
                   {"imagesShipped", r->images_shipped},
                   {"services", services},
                   {"onDestinationOnly", r->on_destination_only},
                   {"notRunning", r->not_running},
                   {"warnings", r->warnings}};
  if (r->failure) j["failure"] = r->failure->describe();
  if (a.json) {
    std::cout << j.dump(2) << "\n";
  } else if (r->outcome == podman::MigrationOutcome::kMigrated) {
    std::cout << "migrated project " << a.project << ": " << services.size() << " services, primary "
              << r->checkpoint.primary_service << ", dumps spread over " << r->checkpoint.dump_gap.count() << " ms\n";
  } else {
    std::cout << "project " << a.project << " " << outcome_name(r->outcome) << ": " << r->failure->describe() << "\n";
  }
  if (!a.json) {
    for (const auto& w : r->warnings) std::cout << "  warning: " << w << "\n";
  }
  return exit_code(r->outcome);
}

int run(const MigrateArgs& a) {
  auto source_client = podman::make_libpod_client(a.from_socket);
  auto dest_client = podman::make_libpod_client(a.to_socket);
  podman::EngineConfig source_config;
  source_config.workspace_label = a.workspace_label;
  source_config.criu_probe = parse_probe(a.criu_probe);
  source_config.settle_time = std::chrono::milliseconds(static_cast<long long>(a.settle_seconds * 1000));
  podman::EngineConfig dest_config = source_config;
  dest_config.host_root = a.dest_host_root;
  podman::Engine source(*source_client, source_config);
  podman::Engine destination(*dest_client, dest_config);
  auto objects = a.store.open_store();
  if (!objects.ok()) return report_error(objects.error());
  auto options = a.store.store_options();
  if (!options.ok()) return report_error(options.error());

  OperationContext ctx;
  // Unique per run, so runs never share (or clobber) each other's archives.
  ctx.operation_id = "migrate-" + (a.project.empty() ? a.workspace : a.project) + "-" +
                     std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
  if (!a.json) ctx.on_progress = stderr_progress();
  store::NamedArchives archives(**objects, *options, "spool");
  podman::StoreSpool spool(archives, "migrations/" + ctx.operation_id);
  if (!a.project.empty()) return run_project(source, destination, spool, a, ctx);

  podman::MigrationRequest request;
  request.workspace = a.workspace;
  request.checkpoint.tcp_established = a.tcp_established;
  request.checkpoint.file_locks = a.file_locks;
  request.restore.tcp_established = a.tcp_established;
  request.restore.file_locks = a.file_locks;
  if (!a.new_name.empty()) request.restore.name = a.new_name;

  auto result = podman::migrate(source, destination, spool, request, ctx);
  if (!result.ok()) return report_error(result.error());
  if (a.json) std::cout << to_json(*result).dump(2) << "\n";
  else print_human(*result);
  return exit_code(result->outcome);
}

}  // namespace

void add_migrate_command(CLI::App& app) {
  auto args = std::make_shared<MigrateArgs>();
  auto* cmd = app.add_subcommand("migrate", "Move a running workspace from one Podman service to another");
  cmd->add_option("--from-socket", args->from_socket, "Source node's Podman socket")->required();
  cmd->add_option("--to-socket", args->to_socket, "Destination node's Podman socket")->required();
  auto* one = cmd->add_option("--container,--workspace", args->workspace, "Container name/id or workspace id");
  auto* project = cmd->add_option("--project", args->project,
                                  "A compose project (com.docker.compose.project label): all its services");
  one->excludes(project);
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
  cmd->add_flag("--tcp-established", args->tcp_established, "Keep established TCP connections");
  cmd->add_flag("--file-locks", args->file_locks, "Checkpoint and restore file locks");
  cmd->add_option("--criu-probe", args->criu_probe,
                  "auto: trust the runtime's +CRIU; present/absent: assert it")
      ->check(CLI::IsMember({"auto", "present", "absent"}))
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([args] {
    if (args->workspace.empty() && args->project.empty()) {
      throw CLI::ValidationError("migrate", "name what to move: --container NAME or --project NAME");
    }
    if (!args->project.empty() && !args->new_name.empty()) {
      throw CLI::ValidationError("migrate", "--new-name renames one container; it cannot apply to a --project");
    }
    throw CLI::RuntimeError(run(*args));
  });
}

}  // namespace wscp::agent
