// migration::delete_checkpoint_archives and collect_unreferenced_images on
// two fake nodes sharing a real store directory: a checkpoint goes only
// once no workspace needs it, and an image only once no sealed checkpoint
// names it and its grace has passed.
#include "migration/archive_retention.h"

#include <doctest/doctest.h>

#include "migration/checkpoint_phase.h"
#include "migration/plan_phase.h"
#include "migration/source_phases.h"
#include "migration/workspace_lock.h"
#include "store/layout.h"
#include "two_node_world.h"

namespace wscp::migration {
namespace {

using namespace flow_testing;
using namespace std::chrono_literals;

// Checkpoints `name` on the source and keeps it there, stopped: the archive
// a WorkspaceCheckpoint without a destination makes.
Plan checkpoint_only(World& w, const std::string& name, const std::string& checkpoint_id) {
  PlanRequest request;
  request.workspace = name;
  request.checkpoint_id = checkpoint_id;
  auto plan = make_plan(w.source.services, request);
  REQUIRE_MESSAGE(plan.ok(), plan.error().describe());
  auto sealed = checkpoint_workspace(w.source.services, *plan, OperationContext{});
  REQUIRE_MESSAGE(sealed.ok(), sealed.error().describe());
  return *plan;
}

std::size_t objects_under(World& w, const std::string& prefix) {
  auto listed = w.objects->list(prefix);
  REQUIRE(listed.ok());
  return listed->size();
}

std::size_t checkpoint_objects(World& w, const Plan& plan) {
  return objects_under(w, store::layout::checkpoint_prefix(plan.workspace_id, plan.checkpoint_id));
}

TEST_CASE("retention: a stopped workspace's only checkpoint is kept until it is resumed") {
  World w;
  w.add(w.a, "web", "ws-1");
  const Plan plan = checkpoint_only(w, "web", "c-1");
  CHECK_FALSE(w.a.containers.at("web").running());
  const std::size_t before = checkpoint_objects(w, plan);
  REQUIRE(before > 0);

  auto refused = delete_checkpoint_archives(w.source.services, "ws-1", "c-1", OperationContext{});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kConflict);
  CHECK(refused.error().message().find("only copy of a stopped workspace") != std::string::npos);
  CHECK(refused.error().message().find("resume it on its source node-a") != std::string::npos);
  CHECK(checkpoint_objects(w, plan) == before);

  REQUIRE(resume_source(w.source.services, "ws-1", "c-1", OperationContext{}).ok());
  const std::size_t with_claim = checkpoint_objects(w, plan);  // the claim's steps are objects too
  CHECK(with_claim > before);
  auto deleted = delete_checkpoint_archives(w.source.services, "ws-1", "c-1", OperationContext{});
  REQUIRE_MESSAGE(deleted.ok(), deleted.error().describe());
  CHECK(deleted->objects == with_claim);
  CHECK(deleted->bytes > 0);
  CHECK(checkpoint_objects(w, plan) == 0);
  CHECK(w.a.containers.at("web").running());

  // Deleting again finds nothing and succeeds.
  auto again = delete_checkpoint_archives(w.source.services, "ws-1", "c-1", OperationContext{});
  REQUIRE(again.ok());
  CHECK(again->objects == 0);
}

TEST_CASE("retention: a restored checkpoint may go") {
  World w;
  w.add(w.a, "web", "ws-1");
  auto moved = w.move("web");
  REQUIRE_REPORT(moved);
  REQUIRE(moved->outcome == Outcome::kMigrated);
  auto deleted = delete_checkpoint_archives(w.destination.services, moved->plan.workspace_id,
                                            moved->plan.checkpoint_id, OperationContext{});
  REQUIRE_MESSAGE(deleted.ok(), deleted.error().describe());
  CHECK(deleted->objects > 0);
  CHECK(checkpoint_objects(w, moved->plan) == 0);
  CHECK(w.b.containers.at("web").running());
}

TEST_CASE("retention: a checkpoint a restore is claiming is kept; an unsealed one goes") {
  World w;
  w.add(w.a, "web", "ws-1");
  const Plan plan = checkpoint_only(w, "web", "c-1");
  REQUIRE(ClaimLog(w.documents, {}, "ws-1", "c-1").take(ClaimStep::kBeginRestore, "node-b").ok());
  auto refused = delete_checkpoint_archives(w.source.services, "ws-1", "c-1", OperationContext{});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kConflict);
  CHECK(refused.error().message().find("restoring by node node-b") != std::string::npos);
  CHECK(checkpoint_objects(w, plan) > 0);

  // Objects of a checkpoint that never got its manifest: nothing can restore them.
  const std::string orphan = store::layout::checkpoint_prefix("ws-3", "c-3") + "web.tar";
  REQUIRE(w.objects->put(orphan, "partial", OperationContext{}).ok());
  auto deleted = delete_checkpoint_archives(w.source.services, "ws-3", "c-3", OperationContext{});
  REQUIRE_MESSAGE(deleted.ok(), deleted.error().describe());
  CHECK(deleted->objects == 1);
  CHECK(objects_under(w, store::layout::checkpoint_prefix("ws-3", "c-3")) == 0);

  // Unsealed, but a cut-through restore follows it as it is written.
  REQUIRE(w.objects->put(store::layout::checkpoint_prefix("ws-4", "c-4") + "web.tar", "partial", OperationContext{})
              .ok());
  REQUIRE(ClaimLog(w.documents, {}, "ws-4", "c-4").take(ClaimStep::kBeginRestore, "node-b").ok());
  auto followed = delete_checkpoint_archives(w.source.services, "ws-4", "c-4", OperationContext{});
  REQUIRE_FALSE(followed.ok());
  CHECK(followed.error().code() == ErrorCode::kConflict);
  CHECK(objects_under(w, store::layout::checkpoint_prefix("ws-4", "c-4")) > 1);
}

TEST_CASE("retention: a checkpoint its source still holds the workspace lock for is kept") {
  World w;
  w.add(w.a, "web", "ws-1");
  PlanRequest request;
  request.workspace = "web";
  request.checkpoint_id = "c-1";
  auto plan = make_plan(w.source.services, request);  // takes the lock; a checkpoint being written
  REQUIRE_MESSAGE(plan.ok(), plan.error().describe());
  const std::size_t before = checkpoint_objects(w, *plan);
  REQUIRE(before > 0);

  auto refused = delete_checkpoint_archives(w.source.services, "ws-1", "c-1", OperationContext{});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kConflict);
  CHECK(refused.error().message().find("node node-a still holds the workspace lock") != std::string::npos);
  CHECK(checkpoint_objects(w, *plan) == before);

  // Once the source is done with it (here: the lock freed, as recovery of
  // a plan that froze nothing does), nothing can restore it: it goes, even
  // while the lock is held again, for another checkpoint.
  REQUIRE(WorkspaceLock(w.documents, {}, "ws-1").release("node-a", "c-1").ok());
  REQUIRE(WorkspaceLock(w.documents, {}, "ws-1").acquire("node-a", "c-2", std::chrono::seconds(60)).ok());
  auto deleted = delete_checkpoint_archives(w.source.services, "ws-1", "c-1", OperationContext{});
  REQUIRE_MESSAGE(deleted.ok(), deleted.error().describe());
  CHECK(deleted->objects == before);
  CHECK(checkpoint_objects(w, *plan) == 0);
}

TEST_CASE("retention: a tampered manifest keeps its checkpoint and stops image collection") {
  World w;
  w.add(w.a, "web", "ws-1");
  auto moved = w.move("web");
  REQUIRE_REPORT(moved);
  const std::string manifest = store::layout::manifest_key(moved->plan.workspace_id, moved->plan.checkpoint_id);
  REQUIRE(w.objects->put(manifest, R"({"version": 99})", OperationContext{}).ok());

  auto kept = delete_checkpoint_archives(w.destination.services, moved->plan.workspace_id, moved->plan.checkpoint_id,
                                         OperationContext{});
  REQUIRE_FALSE(kept.ok());
  CHECK(kept.error().message().find("is kept") != std::string::npos);
  CHECK(checkpoint_objects(w, moved->plan) > 0);

  const std::size_t images = objects_under(w, "images/");
  REQUIRE(images > 0);
  auto collected = collect_unreferenced_images(w.source.services, 0s, OperationContext{});
  REQUIRE_FALSE(collected.ok());
  CHECK(collected.error().message().find("no image was collected") != std::string::npos);
  CHECK(objects_under(w, "images/") == images);
}

TEST_CASE("retention: an image goes once no sealed checkpoint names it and its grace has passed") {
  World w;
  w.add(w.a, "web", "ws-1");
  w.add(w.a, "api", "ws-2");  // the same image
  auto first = w.move("web");
  REQUIRE_REPORT(first);
  auto second = w.move("api");
  REQUIRE_REPORT(second);
  REQUIRE(objects_under(w, "images/") > 0);

  // Named by both: kept, whatever the grace.
  auto collected = collect_unreferenced_images(w.source.services, 0s, OperationContext{});
  REQUIRE_MESSAGE(collected.ok(), collected.error().describe());
  CHECK(collected->removed.empty());
  CHECK(collected->kept == 1);

  REQUIRE(delete_checkpoint_archives(w.source.services, first->plan.workspace_id, first->plan.checkpoint_id,
                                     OperationContext{})
              .ok());
  collected = collect_unreferenced_images(w.source.services, 0s, OperationContext{});
  REQUIRE(collected.ok());
  CHECK(collected->removed.empty());  // the second checkpoint still names it

  REQUIRE(delete_checkpoint_archives(w.source.services, second->plan.workspace_id, second->plan.checkpoint_id,
                                     OperationContext{})
              .ok());
  // Unreferenced, but younger than an hour: a checkpoint being written may
  // have stored it and not yet named it.
  collected = collect_unreferenced_images(w.source.services, 3600s, OperationContext{});
  REQUIRE(collected.ok());
  CHECK(collected->removed.empty());
  CHECK(collected->kept == 1);
  CHECK(objects_under(w, "images/") > 0);

  collected = collect_unreferenced_images(w.source.services, 0s, OperationContext{});
  REQUIRE(collected.ok());
  REQUIRE(collected->removed.size() == 1);
  CHECK(collected->removed[0] == "sha256:" + kImageId);
  CHECK(objects_under(w, "images/") == 0);
}

}  // namespace
}  // namespace wscp::migration
