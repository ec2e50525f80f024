// Checkpoint and restore options have their effect (libpod ignores unknown
// or misspelt query keys silently, so each is checked by what it does).
#include <doctest/doctest.h>

#include "common/file_stream.h"
#include "common/memory_stream.h"
#include "podman/archive_tap.h"
#include "sandbox_node.h"

namespace wscp::testing {
namespace {

using namespace std::chrono_literals;

struct Dump {
  podman::ContainerInfo facts;
  bool has_rootfs_diff = false;
  std::filesystem::path file;
};

Dump dump(SandboxNode& node, const std::string& name, const podman::CheckpointOptions& options,
          const std::filesystem::path& file) {
  auto sink = FileSink::create(file);
  REQUIRE(sink.ok());
  podman::ArchiveTap tap(**sink, {"rootfs-diff.tar"});
  auto r = node.engine().checkpoint(name, options, tap, OperationContext{});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().describe()));
  REQUIRE(tap.close().ok());
  return {r->facts, tap.member("rootfs-diff.tar").has_value(), file};
}

TEST_CASE("leaveRunning keeps the source running; ignoreRootFS leaves the filesystem out") {
  SandboxNode a("node-1");
  TempDir dir;
  const std::string name = unique_name("opts");
  a.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"});
  REQUIRE(eventually(30s, [&] { return a.count(name) >= 5; }));

  podman::CheckpointOptions leave;
  leave.leave_running = true;
  auto with_fs = dump(a, name, leave, dir.path() / "full.tar");
  CHECK(with_fs.has_rootfs_diff);  // the counter wrote /var/wscp/count
  auto still = a.client().inspect_container(name);
  REQUIRE(still.ok());
  CHECK(still->running());

  leave.ignore_rootfs = true;
  auto without_fs = dump(a, name, leave, dir.path() / "nofs.tar");
  CHECK_FALSE(without_fs.has_rootfs_diff);
  a.remove(name);
}

TEST_CASE("a restore under a new name gets a new container and keeps the workspace") {
  SandboxNode a("node-1"), b("node-2");
  b.ensure_testbox();
  TempDir dir;
  const std::string name = unique_name("renamed");
  a.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "20"});
  REQUIRE(eventually(60s, [&] { return a.count(name) >= 200; }));
  podman::CheckpointOptions leave;
  leave.leave_running = true;
  const long long before = a.count(name);
  auto d = dump(a, name, leave, dir.path() / "a.tar");

  podman::RestoreOptions options;
  options.name = name + "-copy";
  options.ignore_static_ip = true;
  options.ignore_static_mac = true;
  auto archive = FileSource::open(d.file);
  REQUIRE(archive.ok());
  auto restored = b.engine().restore(**archive, d.facts, options, OperationContext{});
  REQUIRE_MESSAGE(restored.ok(), (restored.ok() ? "" : restored.error().describe()));
  CHECK(restored->container.name == name + "-copy");
  CHECK(restored->container.id != d.facts.id);
  CHECK(restored->id == name);  // the workspace label is intact
  const long long first = b.count(name + "-copy");
  CHECK(first >= before);  // memory came along: no restart from zero
  b.remove(name + "-copy");
  a.remove(name);
}

TEST_CASE("a process holding a file lock is dumped only with fileLocks, and restores with it") {
  SandboxNode a("node-1"), b("node-2");
  b.ensure_testbox();
  TempDir dir;
  const std::string name = unique_name("locker");
  a.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "20", "/var/wscp/lock"});
  REQUIRE(eventually(60s, [&] { return a.count(name) >= 200; }));

  podman::CheckpointOptions options;
  options.leave_running = true;
  {
    auto sink = FileSink::create(dir.path() / "refused.tar");
    REQUIRE(sink.ok());
    auto refused = a.engine().checkpoint(name, options, **sink, OperationContext{});
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == ErrorCode::kCheckpointFailed);
    CHECK(a.client().inspect_container(name)->running());
  }
  options.file_locks = true;
  const long long before = a.count(name);
  auto d = dump(a, name, options, dir.path() / "locks.tar");
  a.remove(name);

  podman::RestoreOptions restore;
  restore.file_locks = true;
  auto archive = FileSource::open(d.file);
  REQUIRE(archive.ok());
  auto restored = b.engine().restore(**archive, d.facts, restore, OperationContext{});
  REQUIRE_MESSAGE(restored.ok(), (restored.ok() ? "" : restored.error().describe()));
  const long long first = b.count(name);
  CHECK(first >= before);  // not restarted from zero
  CHECK(eventually(30s, [&] { return b.count(name) > first + 5; }));
  b.remove(name);
}

}  // namespace
}  // namespace wscp::testing
