// Migrations through the archive store: S3 (a real MinIO), and archives
// altered at rest, which must never reach Podman whole.
#include <doctest/doctest.h>

#include <fstream>

#include "migration/checkpoint_phase.h"
#include "migration/plan_phase.h"
#include "migration/restore_phase.h"
#include "migration/source_phases.h"
#include "minio_env.h"
#include "sandbox_node.h"
#include "store/s3/s3_store.h"

namespace wscp::testing {
namespace {

using namespace std::chrono_literals;

TEST_CASE("a workspace migrates through S3, compressed and encrypted") {
  SandboxNode a("node-1"), b("node-2");
  store::testing::Minio minio;
  auto config = minio.config(minio.make_bucket("migrate"));
  StoreFixture store(store::s3::make_s3_store(minio.client(config)));
  NodePhases from(a, store), to(b, store);

  const std::string name = unique_name("s3counter");
  a.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"});
  REQUIRE(eventually(30s, [&] { return a.count(name) >= 10; }));
  const long long before = a.count(name);

  auto r = migrate_ok(from, to, name);
  CHECK(store.objects->describe().starts_with("s3://"));
  auto manifest = store.checkpoints->read_manifest(name, r.plan.checkpoint_id, OperationContext{});
  REQUIRE_MESSAGE(manifest.ok(), (manifest.ok() ? "" : manifest.error().describe()));
  REQUIRE(manifest->containers.size() == 1);
  CHECK(manifest->containers[0].archive.encryption.has_value());
  CHECK_FALSE(store.checkpoint_objects(name, r.plan.checkpoint_id).empty());
  CHECK(b.count(name) >= before);
  CHECK(eventually(30s, [&] { return b.count(name) >= before + 10; }));
  b.remove(name);
}

// Flips one byte in the middle of a file, or cuts it in half.
void damage(const std::filesystem::path& file, bool truncate) {
  const auto size = std::filesystem::file_size(file);
  if (truncate) {
    std::filesystem::resize_file(file, size / 2);
    return;
  }
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(size / 2));
  char c = 0;
  f.read(&c, 1);
  f.seekp(static_cast<std::streamoff>(size / 2));
  c = static_cast<char>(c ^ 0x01);
  f.write(&c, 1);
}

TEST_CASE("an archive altered at rest is refused, nothing is restored, and the source resumes") {
  SandboxNode a("node-1"), b("node-2");
  b.ensure_testbox();
  StoreFixture store;
  NodePhases from(a, store), to(b, store);
  const std::string name = unique_name("tampered");
  const OperationContext ctx;
  a.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"});
  REQUIRE(eventually(30s, [&] { return a.count(name) >= 10; }));
  const long long before = a.count(name);

  migration::PlanRequest request;
  request.workspace = name;
  auto plan = migration::make_plan(from.services(), request);
  REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? "" : plan.error().describe()));
  auto sealed = migration::checkpoint_workspace(from.services(), *plan, ctx);
  REQUIRE_MESSAGE(sealed.ok(), (sealed.ok() ? "" : sealed.error().describe()));
  // The largest object of the checkpoint is (part of) the container's archive.
  const auto object = store.largest_object(name, plan->checkpoint_id);
  SUBCASE("one byte flipped") { damage(object, false); }
  SUBCASE("cut in half") { damage(object, true); }

  auto restored = migration::restore_workspace(to.services(), name, plan->checkpoint_id, ctx);
  REQUIRE_FALSE(restored.ok());
  INFO(restored.error().describe());
  CHECK(restored.error().code() == ErrorCode::kIntegrity);
  CHECK_FALSE(*b.client().container_exists(name));
  CHECK(journal_empty(to));

  auto back = migration::resume_source(from.services(), name, plan->checkpoint_id, ctx);
  REQUIRE_MESSAGE(back.ok(), (back.ok() ? "" : back.error().describe()));
  CHECK(a.client().inspect_container(name)->running());
  CHECK(a.count(name) >= before);
  CHECK(eventually(30s, [&] { return a.count(name) >= before + 10; }));
  CHECK(journal_empty(from));
  a.remove(name);
}

}  // namespace
}  // namespace wscp::testing
