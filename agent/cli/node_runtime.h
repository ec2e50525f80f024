#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "agent/cli/store_options.h"
#include "migration/node_services.h"
#include "migration/object_documents.h"
#include "podman/podman_client.h"

namespace wscp::agent {

// The options that say which node a phase verb acts for.
struct NodeArgs {
  std::string node;  // default: this host's name
  std::string socket = "/run/podman/podman.sock";
  std::string journal_dir = "/var/lib/wscp/journal";
  std::string workspace_label = "dev.containers.id";
  std::string host_root = "/";
  std::string criu_probe = "auto";
  double settle_seconds = 5;
  double restore_timeout_floor = 120;  // seconds, plus the archive's size at a conservative rate

  // prefix: "" for the phase verbs, "from-"/"to-" for migrate's two nodes.
  void add_to(CLI::App& cmd, const std::string& prefix = "", const std::string& role = "this node");
};

// Everything one node's phases need, owned in one place: the Podman client
// and engine, the store, the coordination documents, the journal, the fault
// points from the environment and the clock.
class NodeRuntime {
 public:
  static Result<std::unique_ptr<NodeRuntime>> open(const NodeArgs& node, const StoreArgs& store);
  // Shares the store of another runtime (migrate's two nodes, one store).
  static Result<std::unique_ptr<NodeRuntime>> open_beside(const NodeArgs& node, NodeRuntime& sharing_store);

  migration::NodeServices& services() { return *services_; }

 private:
  NodeRuntime() = default;
  static Result<std::unique_ptr<NodeRuntime>> finish(std::unique_ptr<NodeRuntime> rt, const NodeArgs& node,
                                                     store::CheckpointStore& checkpoints,
                                                     migration::DocumentStore& documents);

  std::unique_ptr<podman::PodmanClient> client_;
  std::unique_ptr<podman::Engine> engine_;
  std::unique_ptr<store::ObjectStore> objects_;
  std::unique_ptr<store::CheckpointStore> checkpoints_;
  std::unique_ptr<migration::ObjectDocuments> documents_;
  std::unique_ptr<migration::Journal> journal_;
  migration::FaultPoints faults_;
  std::shared_ptr<Clock> clock_;
  std::unique_ptr<migration::NodeServices> services_;
};

std::string this_host_name();

}  // namespace wscp::agent
