#pragma once

// Two fake Podman nodes sharing a real store directory, each with its own
// journal: what the phase tests run on.
#include <doctest/doctest.h>

#include <filesystem>
#include <random>
#include <thread>

#include "common/fake_clock.h"
#include "migration/claim.h"
#include "migration/migrate_flow.h"
#include "migration/object_documents.h"
#include "podman/fake_podman_client.h"
#include "store/local_store.h"

namespace wscp::migration::flow_testing {

using wscp::testing::FakePodman;

inline const std::string kImageId(64, 'b');

struct Dir {
  std::filesystem::path path;
  Dir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / ("wscp-flow-test-" + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~Dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline podman::EngineConfig engine_config() {
  podman::EngineConfig c;
  c.soft_dirty_available = [] { return false; };
  return c;
}

inline std::unique_ptr<DirectoryJournal> open_journal(const std::filesystem::path& dir) {
  auto journal = DirectoryJournal::open(dir);
  REQUIRE(journal.ok());
  return std::move(*journal);
}

struct Node {
  Node(const std::string& name, FakePodman& client, std::shared_ptr<testing::FakeClock> clock,
       store::CheckpointStore& checkpoints, DocumentStore& documents, const std::filesystem::path& journal_dir)
      : engine(client, engine_config(), clock),
        journal(open_journal(journal_dir)),
        services{name, engine, checkpoints, documents, *journal, faults, *clock, {}} {}
  podman::Engine engine;
  std::unique_ptr<DirectoryJournal> journal;
  FaultPoints faults;
  NodeServices services;
};

// Two fake nodes (a: the source, b: the destination) sharing a store
// directory, each with its own journal.
struct World {
  Dir dir;
  FakePodman a, b;
  // A clock per node: the two legs of a cut-through run on threads of their own.
  std::shared_ptr<testing::FakeClock> source_clock = std::make_shared<testing::FakeClock>();
  std::shared_ptr<testing::FakeClock> destination_clock = std::make_shared<testing::FakeClock>();
  std::unique_ptr<store::ObjectStore> objects = store::make_local_store((dir.path / "store").string());
  store::CheckpointStore checkpoints{*objects, {}};
  ObjectDocuments documents{*objects};
  Node source{"node-a", a, source_clock, checkpoints, documents, dir.path / "journal-a"};
  Node destination{"node-b", b, destination_clock, checkpoints, documents, dir.path / "journal-b"};

  podman::ContainerInfo& add(FakePodman& node, const std::string& name, const std::string& workspace) {
    auto& c = node.add_running(name, workspace);
    c.image_id = kImageId;
    node.images[c.image_name] = kImageId;
    return c;
  }
  // Cut through (the default), polling the store every 20 ms.
  static MigrateOptions quick() {
    MigrateOptions o;
    o.follow.follow.poll_interval = std::chrono::milliseconds(20);
    return o;
  }
  Result<MigrationReport> move(const std::string& name, PlanRequest request = {}) {
    request.workspace = name;
    return migrate_workspace(source.services, destination.services, request, OperationContext{}, quick());
  }
  Result<MigrationReport> move_project(const std::string& project) {
    PlanRequest request;
    request.project = project;
    return migrate_workspace(source.services, destination.services, request, OperationContext{}, quick());
  }
  Result<MigrationReport> move_with(const std::string& name, const PlanRequest& request, const MigrateOptions& options) {
    PlanRequest r = request;
    r.workspace = name;
    return migrate_workspace(source.services, destination.services, r, OperationContext{}, options);
  }
  // Waits (real time: the phases run on threads of their own) until the
  // checkpoint's claim is in `state`.
  bool await_claim(const std::string& workspace, const std::string& checkpoint, ClaimState state) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      auto c = ClaimLog(documents, {}, workspace, checkpoint).current();
      if (c.ok() && c->state == state) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  bool journals_empty() { return source.journal->pending()->empty() && destination.journal->pending()->empty(); }
  ClaimState claim(const MigrationReport& r) {
    auto c = ClaimLog(documents, {}, r.plan.workspace_id, r.plan.checkpoint_id).current();
    REQUIRE(c.ok());
    return c->state;
  }
  int running_copies(const std::string& name) {
    int n = 0;
    for (FakePodman* node : {&a, &b}) {
      auto c = node->inspect_container(name);
      if (c.ok() && c->running()) ++n;
    }
    return n;
  }
};

#define REQUIRE_REPORT(r) REQUIRE_MESSAGE((r).ok(), ((r).ok() ? "" : (r).error().describe()))

}  // namespace wscp::migration::flow_testing
