// Migrations through the archive store: S3 (a real MinIO), and archives
// altered at rest, which must never reach Podman whole.
#include <doctest/doctest.h>

#include <fstream>

#include "minio_env.h"
#include "podman/migration.h"
#include "podman/store_spool.h"
#include "sandbox_node.h"
#include "store/encryption_key.h"
#include "store/s3/s3_store.h"

namespace wscp::testing {
namespace {

using namespace std::chrono_literals;

TEST_CASE("a workspace migrates through S3, compressed and encrypted") {
  SandboxNode a("node-1"), b("node-2");
  store::testing::Minio minio;
  auto config = minio.config(minio.make_bucket("migrate"));
  auto objects = store::s3::make_s3_store(minio.client(config));
  store::CheckpointStoreOptions options;
  auto key = store::parse_key(std::string(64, 'a'));
  REQUIRE(key.ok());
  options.pipeline.encryption_key = *key;
  store::NamedArchives archives(*objects, options, "spool");
  podman::StoreSpool spool(archives, "migrations/s3");

  const std::string name = unique_name("s3counter");
  a.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"});
  REQUIRE(eventually(30s, [&] { return a.count(name) >= 10; }));
  const long long before = a.count(name);

  auto r = podman::migrate(a.engine(), b.engine(), spool, {name, {}, {}}, OperationContext{});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().describe()));
  INFO((r->failure ? r->failure->describe() : ""));
  REQUIRE(r->outcome == podman::MigrationOutcome::kMigrated);
  CHECK(*spool.exists(podman::container_archive_key(r->checkpoint.facts)));
  CHECK(spool.describe(podman::container_archive_key(r->checkpoint.facts)).starts_with("s3://"));
  CHECK(b.count(name) >= before);
  CHECK(eventually(30s, [&] { return b.count(name) >= before + 10; }));
  b.remove(name);
}

TEST_CASE("an archive altered at rest is refused and nothing is restored") {
  SandboxNode a("node-1"), b("node-2");
  b.ensure_testbox();
  StoreFixture store;
  const std::string name = unique_name("tampered");
  const OperationContext ctx;
  a.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"});
  auto sink = store.spool().create("containers/" + name + ".tar", ctx);
  REQUIRE(sink.ok());
  podman::CheckpointOptions leave;
  leave.leave_running = true;
  auto checkpoint = a.engine().checkpoint(name, leave, **sink, OperationContext{});
  REQUIRE(checkpoint.ok());
  REQUIRE((*sink)->close().ok());

  // Flip one byte of the stored (compressed, encrypted) archive.
  auto stored = store.dir.path() / "spool" / "migrations" / "test" / "containers" / (name + ".tar");
  REQUIRE(std::filesystem::exists(stored));
  {
    std::fstream f(stored, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(std::filesystem::file_size(stored) / 2));
    char c = 0;
    f.read(&c, 1);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(stored) / 2));
    c = static_cast<char>(c ^ 0x01);
    f.write(&c, 1);
  }
  auto archive = store.spool().open("containers/" + name + ".tar", ctx);
  if (archive.ok()) {
    auto restored = b.engine().restore(**archive, checkpoint->facts, {}, OperationContext{});
    REQUIRE_FALSE(restored.ok());
    CHECK(restored.error().code() == ErrorCode::kIntegrity);
  } else {
    CHECK(archive.error().code() == ErrorCode::kIntegrity);
  }
  CHECK_FALSE(*b.client().container_exists(name));
  a.remove(name);
}

}  // namespace
}  // namespace wscp::testing
