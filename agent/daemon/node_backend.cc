#include "agent/daemon/node_backend.h"

#include <map>
#include <vector>

#include "agent/cli/node_runtime.h"
#include "agent/config/quantity.h"
#include "agent/dry_run/dry_run_node.h"
#include "agent/operations/migration_phase_runner.h"
#include "podman/engine.h"
#include "podman/libpod_client.h"
#include "store/archive_pipeline.h"
#include "store/store_url.h"

namespace wscp::agent {

StoreArgs store_args(const StoreConfig& s, const std::string& node) {
  StoreArgs store;
  store.via = s.store_url();
  const auto query = store.via.find('?');
  const bool names_writer = query != std::string::npos && (store.via.find("?writer=") != std::string::npos ||
                                                           store.via.find("&writer=", query) != std::string::npos);
  if (store.via.rfind("s3://", 0) == 0 && !names_writer) {
    const bool open_query = query != std::string::npos && (store.via.back() == '?' || store.via.back() == '&');
    store.via += std::string(query == std::string::npos ? "?" : open_query ? "" : "&") + "writer=" +
                 store::writer_id_from(node);
  }
  store.compression = s.compression_level == 0 ? "none" : "zstd";
  store.compression_level = s.compression_level == 0 ? 3 : s.compression_level;
  store.encryption_key_file = s.keyring;
  store.manifest_key_file = s.keyring;
  return store;
}

namespace {

class PodmanBackend final : public NodeBackend {
 public:
  explicit PodmanBackend(const AgentConfig& cfg) : socket_(cfg.podman_socket) {}

  Status open(const AgentConfig& cfg, const std::shared_ptr<log::Logger>& logger,
              const std::shared_ptr<metrics::AgentMetrics>& metrics) {
    // One set of node services per configured store; one journal each.
    for (const auto& s : cfg.stores) {
      NodeArgs node;
      node.node = cfg.node_name;
      node.socket = cfg.podman_socket;
      node.journal_dir = cfg.stores.size() == 1 ? cfg.journal_dir : cfg.journal_dir + "/stores/" + s.name;
      node.workspace_label = cfg.workspace_label;
      node.settle_seconds = std::chrono::duration<double>(cfg.settle_period).count();
      StoreArgs args = store_args(s, cfg.node_name);
      if (metrics) {
        args.events.retry = [metrics](std::string_view kind) { metrics->store_retry(kind); };
        args.events.failure = [metrics](std::string_view kind) { metrics->store_error(kind); };
      }
      auto rt = NodeRuntime::open(node, args);
      if (!rt) return rt.error().wrap("store " + s.name);
      stores_[s.name] = &(*rt)->services();
      runtimes_.push_back(std::move(*rt));
    }
    runner_ = std::make_unique<operations::MigrationPhaseRunner>(stores_);

    // Each checkpoint or restore is admitted for what its store's pipeline
    // really holds in flight, so the memory budget bounds the node's use.
    transfer_bytes_ = cfg.operations.transfer_buffer_bytes;
    for (const auto& [name, node] : stores_) {
      const std::uint64_t needed = store::transfer_memory_bound(node->checkpoints.options().pipeline);
      if (needed <= transfer_bytes_) continue;
      logger->info("transfer buffer raised to what the store holds in flight",
                   {{"store", name}, {"configured", format_byte_size(cfg.operations.transfer_buffer_bytes)},
                    {"needed", format_byte_size(needed)}});
      transfer_bytes_ = needed;
    }

    // Inventory and readiness ask Podman directly.
    podman_ = podman::make_libpod_client(cfg.podman_socket);
    podman::EngineConfig engine_config;
    engine_config.workspace_label = cfg.workspace_label;
    engine_ = std::make_unique<podman::Engine>(*podman_, engine_config, system_clock());
    probe_ = inventory::make_system_probe();
    inventory::InventoryOptions io;
    io.workspace_label = cfg.workspace_label;
    inventory_ = std::make_unique<inventory::Inventory>(*podman_, *probe_, io);
    return Ok{};
  }

  operations::PhaseRunner& runner() override { return *runner_; }
  inventory::NodeInventory& inventory() override { return *inventory_; }
  std::uint64_t transfer_bytes() const override { return transfer_bytes_; }
  std::size_t store_count() const override { return stores_.size(); }

  Status ready() override {
    auto caps = engine_->capabilities();
    if (!caps) return caps.error().wrap("Podman at " + socket_);
    if (!caps->checkpoint)
      return Error(ErrorCode::kUnsupported, "Podman at " + socket_ + " cannot checkpoint: " + caps->why_not);
    return Ok{};
  }

  Result<migration::ClaimState> claim(const std::string& store, const std::string& workspace_id,
                                      const std::string& checkpoint_id) override {
    auto it = store.empty() && stores_.size() == 1 ? stores_.begin() : stores_.find(store);
    if (it == stores_.end()) return Error(ErrorCode::kInvalidArgument, "store \"" + store + "\" is not configured");
    migration::NodeServices& node = *it->second;
    auto claim = migration::ClaimLog(node.documents, node.verify_keys(), workspace_id, checkpoint_id).current();
    if (!claim) return claim.error();
    return claim->state;
  }

 private:
  std::string socket_;
  std::vector<std::unique_ptr<NodeRuntime>> runtimes_;
  std::map<std::string, migration::NodeServices*> stores_;
  std::unique_ptr<operations::MigrationPhaseRunner> runner_;
  std::uint64_t transfer_bytes_ = 0;
  std::unique_ptr<podman::PodmanClient> podman_;
  std::unique_ptr<podman::Engine> engine_;
  std::unique_ptr<inventory::SystemProbe> probe_;
  std::unique_ptr<inventory::Inventory> inventory_;
};

class DryRunBackend final : public NodeBackend {
 public:
  explicit DryRunBackend(dry_run::DryRunOptions options, std::uint64_t transfer_bytes)
      : node_(std::move(options)), transfer_bytes_(transfer_bytes) {}
  operations::PhaseRunner& runner() override { return node_; }
  inventory::NodeInventory& inventory() override { return node_; }
  Status ready() override { return Ok{}; }
  // No store: a checkpoint of a dry run is never claimed, so an evacuation's
  // workspaces are resumed in place after the grace.
  Result<migration::ClaimState> claim(const std::string&, const std::string&, const std::string&) override {
    return migration::ClaimState::kNone;
  }
  std::uint64_t transfer_bytes() const override { return transfer_bytes_; }
  std::size_t store_count() const override { return 0; }

 private:
  dry_run::DryRunNode node_;
  std::uint64_t transfer_bytes_;
};

}  // namespace

Result<std::unique_ptr<NodeBackend>> open_podman_backend(const AgentConfig& cfg,
                                                         const std::shared_ptr<log::Logger>& logger,
                                                         const std::shared_ptr<metrics::AgentMetrics>& metrics) {
  auto backend = std::make_unique<PodmanBackend>(cfg);
  if (auto s = backend->open(cfg, logger, metrics); !s) return s.error();
  return std::unique_ptr<NodeBackend>(std::move(backend));
}

std::unique_ptr<NodeBackend> open_dry_run_backend(const AgentConfig& cfg) {
  const DryRunConfig& d = cfg.dry_run.value();
  dry_run::DryRunOptions o;
  o.node = cfg.node_name;
  o.workspace_label = cfg.workspace_label;
  o.workspaces = d.workspaces;
  o.labels = d.labels;
  o.workspace_memory_bytes = d.workspace_memory_bytes;
  o.phase_duration = d.phase_duration;
  for (const auto& s : cfg.stores) o.stores.push_back(s.name);
  return std::make_unique<DryRunBackend>(std::move(o), cfg.operations.transfer_buffer_bytes);
}

}  // namespace wscp::agent
