#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/client.h"
#include "migration/journal.h"
#include "migration/migrate_flow.h"
#include "migration/object_documents.h"
#include "podman/engine.h"
#include "podman/libpod_client.h"
#include "store/checkpoint_store.h"

namespace wscp::testing {

// One node of the running sandbox (scripts/sandbox): its socket, a
// PodmanClient and Engine on it, and what tests need that the agent never
// does (create containers, read files out of them).
class SandboxNode {
 public:
  explicit SandboxNode(const std::string& name);

  const std::string& name() const { return name_; }
  const std::string& socket() const { return socket_; }
  // Where the host sees this node's filesystem.
  const std::filesystem::path& root() const { return root_; }
  podman::PodmanClient& client() { return *client_; }
  podman::Engine& engine() { return *engine_; }
  podman::EngineConfig engine_config() const;

  // Imports the test image (busybox + test programs) if missing.
  void ensure_testbox();
  void remove_testbox();
  // Imports the test image's files as another image (a new id); returns its id.
  std::string import_testbox_as(const std::string& reference);
  // Streams a GET answer into a file (e.g. an image archive).
  void save(const std::string& path, const std::filesystem::path& file);
  // Creates and starts a container of the test image; returns its id.
  std::string run(const std::string& name, const std::vector<std::string>& command,
                  const nlohmann::json& extra = nlohmann::json::object());
  void remove(const std::string& name);
  // Reads one small file out of a container; empty when unreadable.
  std::string read_file(const std::string& container, const std::string& path);
  // What a wscp-counter container published; -1 when unreadable.
  long long count(const std::string& container);
  // The raw libpod answer to a request, for tests of odd corners.
  http::Response call(const std::string& method, const std::string& path, const std::string& body = "");

 private:
  std::string name_;
  std::string socket_;
  std::filesystem::path root_;
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<podman::PodmanClient> client_;
  std::unique_ptr<podman::Engine> engine_;
};

// Polls until pred() holds or the deadline passes; returns whether it held.
bool eventually(std::chrono::seconds timeout, const std::function<bool()>& pred);

// A fresh temporary directory, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string unique_name(const std::string& prefix);

// The real archive store the phases hand checkpoints over through: a local
// directory (or the given store, e.g. S3), archives compressed and
// encrypted with a fresh key, verified when read.
struct StoreFixture {
  explicit StoreFixture(std::unique_ptr<store::ObjectStore> shared = nullptr);
  TempDir dir;
  std::unique_ptr<store::ObjectStore> objects;
  std::unique_ptr<store::CheckpointStore> checkpoints;
  std::unique_ptr<migration::ObjectDocuments> documents;

  // Every object under workspaces/<ws>/checkpoints/<id>/, by key.
  std::vector<store::ObjectInfo> checkpoint_objects(const std::string& workspace_id, const std::string& checkpoint_id);
  // The local file of the largest object of a checkpoint (a container's
  // archive, or one of its segments); the store must be the directory.
  std::filesystem::path largest_object(const std::string& workspace_id, const std::string& checkpoint_id);
};

// One sandbox node's phases on a store (migration::NodeServices): its own
// journal in a temporary directory, no fault points, the system clock. The
// engine defaults to the node's; tests pass one with other settings.
class NodePhases {
 public:
  NodePhases(SandboxNode& node, StoreFixture& store) : NodePhases(node.name(), node.engine(), store) {}
  NodePhases(const std::string& name, podman::Engine& engine, StoreFixture& store);
  migration::NodeServices& services() { return *services_; }
  migration::Journal& journal() { return *journal_; }

 private:
  TempDir journal_dir_;
  std::unique_ptr<migration::DirectoryJournal> journal_;
  migration::FaultPoints faults_;
  std::shared_ptr<Clock> clock_ = system_clock();
  std::unique_ptr<migration::NodeServices> services_;
};

// migration::migrate_workspace from one node to the other, with short
// settings; request.workspace or request.project names what moves.
Result<migration::MigrationReport> migrate(NodePhases& from, NodePhases& to, const migration::PlanRequest& request,
                                           const OperationContext& ctx = OperationContext{});
// The same for one container, required to reach kMigrated.
migration::MigrationReport migrate_ok(NodePhases& from, NodePhases& to, const std::string& workspace,
                                      migration::PlanRequest request = {});
// Whether a journal holds nothing unfinished.
bool journal_empty(NodePhases& node);

}  // namespace wscp::testing
