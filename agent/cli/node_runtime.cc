#include "agent/cli/node_runtime.h"

#include <unistd.h>

#include "podman/libpod_client.h"
#include "store/layout.h"

namespace wscp::agent {
namespace {

podman::EngineConfig::CriuProbe parse_probe(const std::string& text) {
  if (text == "present") return podman::EngineConfig::CriuProbe::kAssumePresent;
  if (text == "absent") return podman::EngineConfig::CriuProbe::kAssumeAbsent;
  return podman::EngineConfig::CriuProbe::kAuto;
}

}  // namespace

std::string this_host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

void NodeArgs::add_to(CLI::App& cmd, const std::string& prefix, const std::string& role) {
  cmd.add_option("--" + prefix + "node", node,
                 "Name of " + role + " (default: " + (node.empty() ? std::string("the host name") : node) + ")");
  cmd.add_option("--" + prefix + "socket", socket, "Podman socket of " + role)->capture_default_str();
  if (prefix.empty()) {
    cmd.add_option("--journal", journal_dir, "Where this node journals its steps (0700)")->capture_default_str();
    cmd.add_option("--workspace-label", workspace_label, "Label that holds the workspace id")->capture_default_str();
    cmd.add_option("--host-root", host_root, "Where this node's filesystem is visible (bind-source checks)")
        ->capture_default_str();
    cmd.add_option("--criu-probe", criu_probe, "auto: trust the runtime's +CRIU; present/absent: assert it")
        ->check(CLI::IsMember({"auto", "present", "absent"}))
        ->capture_default_str();
    cmd.add_option("--settle-seconds", settle_seconds, "Seconds a restored container must stay running to count as restored")
        ->check(CLI::Range(0.0, 600.0))
        ->capture_default_str();
    cmd.add_option("--restore-timeout-floor", restore_timeout_floor,
                   "Seconds a restore call may take, plus the archive's size at 16 MiB/s; when it runs out, "
                   "Podman's own outcome is awaited (as long again) before anything is undone")
        ->check(CLI::Range(0.1, 86400.0))
        ->capture_default_str();
  }
}

Result<std::unique_ptr<NodeRuntime>> NodeRuntime::open(const NodeArgs& node, const StoreArgs& store) {
  auto rt = std::unique_ptr<NodeRuntime>(new NodeRuntime());
  auto objects = store.open_store();
  if (!objects) return objects.error();
  auto options = store.store_options();
  if (!options) return options.error();
  rt->objects_ = std::move(*objects);
  if (auto st = store::require_authentication(*rt->objects_, *options); !st) return st.error();
  rt->checkpoints_ = std::make_unique<store::CheckpointStore>(*rt->objects_, std::move(*options));
  rt->documents_ = std::make_unique<migration::ObjectDocuments>(*rt->objects_);
  auto& checkpoints = *rt->checkpoints_;
  auto& documents = *rt->documents_;
  return finish(std::move(rt), node, checkpoints, documents);
}

Result<std::unique_ptr<NodeRuntime>> NodeRuntime::open_beside(const NodeArgs& node, NodeRuntime& sharing_store) {
  auto rt = std::unique_ptr<NodeRuntime>(new NodeRuntime());
  return finish(std::move(rt), node, *sharing_store.checkpoints_, *sharing_store.documents_);
}

Result<std::unique_ptr<NodeRuntime>> NodeRuntime::finish(std::unique_ptr<NodeRuntime> rt, const NodeArgs& node,
                                                         store::CheckpointStore& checkpoints,
                                                         migration::DocumentStore& documents) {
  const std::string name = node.node.empty() ? this_host_name() : node.node;
  if (auto st = store::validate_name(name, "node name"); !st) return st.error();
  auto journal = migration::DirectoryJournal::open(node.journal_dir);
  if (!journal) return journal.error().wrap("--journal");
  rt->journal_ = std::move(*journal);
  rt->client_ = podman::make_libpod_client(node.socket);
  podman::EngineConfig config;
  config.workspace_label = node.workspace_label;
  config.criu_probe = parse_probe(node.criu_probe);
  config.host_root = node.host_root;
  config.settle_time = std::chrono::milliseconds(static_cast<long long>(node.settle_seconds * 1000));
  config.restore_floor = std::chrono::milliseconds(static_cast<long long>(node.restore_timeout_floor * 1000));
  rt->clock_ = system_clock();
  rt->engine_ = std::make_unique<podman::Engine>(*rt->client_, config, rt->clock_);
  rt->faults_ = migration::FaultPoints::from_environment();
  rt->services_ = std::make_unique<migration::NodeServices>(migration::NodeServices{
      name, *rt->engine_, checkpoints, documents, *rt->journal_, rt->faults_, *rt->clock_, {}});
  return rt;
}

}  // namespace wscp::agent
