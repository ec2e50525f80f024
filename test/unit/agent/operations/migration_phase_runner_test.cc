#include "agent/operations/migration_phase_runner.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/fake_clock.h"
#include "migration/object_documents.h"
#include "migration/plan.h"
#include "migration/plan_phase.h"
#include "podman/fake_podman_client.h"
#include "store/layout.h"
#include "store/local_store.h"
#include "testing/temp_dir.h"

using namespace wscp;
using namespace wscp::agent::operations;
using nlohmann::json;

namespace {

const std::string kImageId(64, 'b');

podman::EngineConfig engine_config() {
  podman::EngineConfig c;
  c.soft_dirty_available = [] { return false; };
  return c;
}

std::unique_ptr<migration::DirectoryJournal> open_journal(const std::string& dir) {
  auto journal = migration::DirectoryJournal::open(dir);
  REQUIRE(journal.ok());
  return std::move(*journal);
}

struct Node {
  Node(const std::string& name, wscp::testing::FakePodman& client, std::shared_ptr<wscp::testing::FakeClock> clock,
       store::CheckpointStore& checkpoints, migration::DocumentStore& documents, const std::string& journal_dir)
      : engine(client, engine_config(), clock),
        journal(open_journal(journal_dir)),
        services{name, engine, checkpoints, documents, *journal, faults, *clock, {}} {}
  podman::Engine engine;
  std::unique_ptr<migration::DirectoryJournal> journal;
  migration::FaultPoints faults;
  migration::NodeServices services;
};

// A source node with a planned checkpoint of "web" (workspace ws-1) in a
// local store, and a destination node whose runner preflights it.
struct World {
  agent::testing::TempDir dir;
  wscp::testing::FakePodman a, b;
  std::shared_ptr<wscp::testing::FakeClock> clock = std::make_shared<wscp::testing::FakeClock>();
  std::unique_ptr<store::ObjectStore> objects = store::make_local_store(dir.file("store"));
  store::CheckpointStore checkpoints{*objects, {}};
  migration::ObjectDocuments documents{*objects};
  Node source{"node-a", a, clock, checkpoints, documents, dir.file("journal-a")};
  Node destination{"node-b", b, clock, checkpoints, documents, dir.file("journal-b")};
  MigrationPhaseRunner runner{{{"main", &destination.services}}};
  migration::Plan plan;

  World() {
    auto& c = a.add_running("web", "ws-1");
    c.image_id = kImageId;
    a.images[c.image_name] = kImageId;
    migration::PlanRequest request;
    request.workspace = "web";
    request.checkpoint_id = "c-1";
    auto made = migration::make_plan(source.services, request);
    REQUIRE_MESSAGE(made.ok(), (made.ok() ? "" : made.error().describe()));
    plan = *made;
  }

  // The plan document as the source wrote it, as a JSON value.
  json plan_document() const { return json::parse(migration::serialize_plan(plan, nullptr)); }
};

}  // namespace

TEST_CASE("phase runner: preflight takes the plan inline or reads it from the store") {
  World w;
  PreflightRequest inline_plan;
  inline_plan.plan = w.plan_document();
  inline_plan.store = "main";
  auto by_value = w.runner.preflight(inline_plan);
  CHECK_MESSAGE(by_value.ok(), (by_value.ok() ? "" : by_value.error().describe()));

  PreflightRequest by_ref;
  by_ref.workspace_id = w.plan.workspace_id;
  by_ref.checkpoint_id = w.plan.checkpoint_id;
  auto read = w.runner.preflight(by_ref);  // the only store: no name needed
  CHECK_MESSAGE(read.ok(), (read.ok() ? "" : read.error().describe()));
}

TEST_CASE("phase runner: an inline plan is checked as strictly as a stored one") {
  World w;
  SUBCASE("the destination has the image's name with another id: refused") {
    for (const auto& image : w.a.images) w.b.images[image.first] = std::string(64, 'c');
    PreflightRequest r;
    r.plan = w.plan_document();
    auto refused = w.runner.preflight(r);
    REQUIRE_FALSE(refused.ok());
    CHECK_MESSAGE(refused.error().message().find("image") != std::string::npos, refused.error().describe());
  }
  SUBCASE("another plan version: refused, naming it") {
    json doc = w.plan_document();
    doc["version"] = 99;
    PreflightRequest r;
    r.plan = doc;
    auto refused = w.runner.preflight(r);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == ErrorCode::kUnsupported);
    CHECK(refused.error().message().find("99") != std::string::npos);
  }
  SUBCASE("not a plan at all: refused") {
    PreflightRequest r;
    r.plan = json{{"a", 1}};
    CHECK_FALSE(w.runner.preflight(r).ok());
  }
  SUBCASE("an unknown store: refused, naming the configured ones") {
    PreflightRequest r;
    r.plan = w.plan_document();
    r.store = "elsewhere";
    auto refused = w.runner.preflight(r);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == ErrorCode::kInvalidArgument);
    CHECK(refused.error().message().find("main") != std::string::npos);
  }
}

namespace {

Request deletion(const std::string& checkpoint_id) {
  Request r;
  r.kind = Kind::kDelete;
  r.workspace = "ws-9";
  r.checkpoint_id = checkpoint_id;
  return r;
}

Result<Outcome> run_one(World& w, const Request& r) {
  OperationContext ctx;
  RunContext run{ctx, [](std::string_view) {}};
  return w.runner.run(r, run);
}

void store_orphan_image(World& w, char digit) {
  const std::string key = "images/sha256/" + std::string(64, digit) + "/image.tar";
  REQUIRE(w.objects->put(key, "layers", OperationContext{}).ok());
}

}  // namespace

TEST_CASE("phase runner: deletions collect images at most once an interval, and a failed collection is a warning") {
  World w;
  w.destination.services.settings.image_grace = std::chrono::seconds(0);
  store_orphan_image(w, '1');
  auto first = run_one(w, deletion("c-1x"));
  REQUIRE_MESSAGE(first.ok(), (first.ok() ? "" : first.error().describe()));
  CHECK(first->images == std::vector<std::string>{"sha256:" + std::string(64, '1')});

  // A deletion refused (the source still holds the lock for c-1) collects
  // nothing and does not count as a collection.
  w.clock->sleep_for(w.destination.services.settings.image_collection_interval);
  store_orphan_image(w, '3');
  Request refused = deletion("c-1");
  refused.workspace = "ws-1";
  REQUIRE_FALSE(run_one(w, refused).ok());
  auto after_refusal = run_one(w, deletion("c-4x"));
  REQUIRE(after_refusal.ok());
  CHECK(after_refusal->images == std::vector<std::string>{"sha256:" + std::string(64, '3')});

  store_orphan_image(w, '2');
  auto soon = run_one(w, deletion("c-2x"));
  REQUIRE(soon.ok());
  CHECK(soon->images.empty());  // collected a moment ago: not again yet
  CHECK(w.objects->list("images/sha256/" + std::string(64, '2'))->size() == 1);

  // A manifest that cannot be read could name any image: nothing is
  // collected, and the deletion, which happened, still succeeds.
  REQUIRE(w.objects
              ->put("workspaces/ws-7/checkpoints/c-7/" + std::string(store::layout::kManifestName), "{not json",
                    OperationContext{})
              .ok());
  w.clock->sleep_for(w.destination.services.settings.image_collection_interval);
  auto damaged = run_one(w, deletion("c-3x"));
  REQUIRE_MESSAGE(damaged.ok(), (damaged.ok() ? "" : damaged.error().describe()));
  CHECK(damaged->images.empty());
  REQUIRE(damaged->warnings.size() == 1);
  CHECK(damaged->warnings[0].find("no image was collected") != std::string::npos);
  CHECK(damaged->warnings[0].find("c-7") != std::string::npos);
  CHECK(w.objects->list("images/sha256/" + std::string(64, '2'))->size() == 1);
}
