// Bad inputs to the engine against real Podman: each gets a specific error
// and leaves nothing behind.
#include <doctest/doctest.h>

#include <unistd.h>

#include <fstream>

#include "common/file_stream.h"
#include "sandbox_node.h"

namespace wscp::testing {
namespace {

using namespace std::chrono_literals;

// Checkpoints a running counter with leaveRunning into a file; returns facts.
podman::ContainerInfo checkpoint_to_file(SandboxNode& node, const std::string& name,
                                         const std::filesystem::path& file) {
  node.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"});
  auto sink = FileSink::create(file);
  REQUIRE(sink.ok());
  podman::CheckpointOptions options;
  options.leave_running = true;
  auto result = node.engine().checkpoint(name, options, **sink, OperationContext{});
  REQUIRE_MESSAGE(result.ok(), (result.ok() ? "" : result.error().describe()));
  REQUIRE((*sink)->close().ok());
  return result->facts;
}

void damage(const std::filesystem::path& file, bool truncate) {
  auto size = std::filesystem::file_size(file);
  if (truncate) {
    std::filesystem::resize_file(file, size / 2);
    return;
  }
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  std::string junk(512, '\x5a');
  f.write(junk.data(), static_cast<std::streamsize>(junk.size()));  // the first tar header
}

TEST_CASE("a missing container is reported by name") {
  SandboxNode a("node-1");
  auto ws = a.engine().find_workspace("no-such-workspace");
  REQUIRE_FALSE(ws.ok());
  CHECK(ws.error().code() == ErrorCode::kNotFound);
  CHECK(ws.error().message().find("no-such-workspace") != std::string::npos);

  TempDir dir;
  auto sink = FileSink::create(dir.path() / "x.tar");
  REQUIRE(sink.ok());
  auto r = a.engine().checkpoint("no-such-container", {}, **sink, OperationContext{});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kNotFound);
}

TEST_CASE("a dead socket is unavailable, and the error names it") {
  auto client = podman::make_libpod_client("/run/wscp-test-no-such/podman.sock");
  podman::Engine engine(*client, {});
  auto caps = engine.capabilities();
  REQUIRE_FALSE(caps.ok());
  CHECK(caps.error().code() == ErrorCode::kUnavailable);
  CHECK(caps.error().retryable());
  CHECK(caps.error().message().find("/run/wscp-test-no-such/podman.sock") != std::string::npos);
}

TEST_CASE("a truncated or corrupted archive fails to restore and leaves no container") {
  SandboxNode a("node-1");
  SandboxNode b("node-2");
  b.ensure_testbox();
  TempDir dir;
  const std::string name = unique_name("damaged");
  auto file = dir.path() / "archive.tar";
  auto facts = checkpoint_to_file(a, name, file);
  SUBCASE("truncated") { damage(file, true); }
  SUBCASE("corrupted") { damage(file, false); }

  auto source = FileSource::open(file);
  REQUIRE(source.ok());
  auto restored = b.engine().restore(**source, facts, {}, OperationContext{});
  REQUIRE_FALSE(restored.ok());
  CHECK(restored.error().code() == ErrorCode::kRestoreFailed);
  CHECK_FALSE(*b.client().container_exists(name));
  a.remove(name);
}

TEST_CASE("restoring over an existing name is a conflict found before anything starts") {
  SandboxNode a("node-1");
  TempDir dir;
  const std::string name = unique_name("conflict");
  auto file = dir.path() / "archive.tar";
  auto facts = checkpoint_to_file(a, name, file);  // the original still runs
  auto source = FileSource::open(file);
  REQUIRE(source.ok());
  auto restored = a.engine().restore(**source, facts, {}, OperationContext{});
  REQUIRE_FALSE(restored.ok());
  CHECK(restored.error().code() == ErrorCode::kConflict);
  CHECK(restored.error().message().find(name) != std::string::npos);
  auto still = a.client().inspect_container(name);
  REQUIRE(still.ok());
  CHECK(still->running());
  a.remove(name);
}

TEST_CASE("a restore refused because a published port is taken leaves no container behind") {
  SandboxNode a("node-1");
  SandboxNode b("node-2");
  b.ensure_testbox();
  TempDir dir;
  const std::string name = unique_name("ported");
  auto file = dir.path() / "archive.tar";
  auto facts = checkpoint_to_file(a, name, file);
  // node-2 already serves the port the restore asks for.
  const int port = 20000 + getpid() % 20000;
  const std::string holder = unique_name("porthold");
  b.run(holder, {"sleep", "1000"}, {{"portmappings", {{{"host_port", port}, {"container_port", 80}}}}});

  podman::RestoreOptions options;
  options.publish_ports = {std::to_string(port) + ":80"};
  auto source = FileSource::open(file);
  REQUIRE(source.ok());
  auto restored = b.engine().restore(**source, facts, options, OperationContext{});
  REQUIRE_FALSE(restored.ok());
  INFO(restored.error().describe());
  CHECK(restored.error().code() == ErrorCode::kRestoreFailed);  // not a name conflict
  CHECK(restored.error().message().find("already in use") != std::string::npos);
  CHECK_FALSE(*b.client().container_exists(name));  // the half-restored container is gone
  CHECK(b.client().inspect_container(holder)->running());
  b.remove(holder);
  a.remove(name);
}

TEST_CASE("pre-copy is refused clearly where the kernel lacks soft-dirty tracking") {
  SandboxNode a("node-1");
  podman::EngineConfig config = a.engine_config();
  config.soft_dirty_available = [] { return false; };  // as on these machines' kernels
  podman::Engine engine(a.client(), config);
  const std::string name = unique_name("precopy");
  a.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"});
  TempDir dir;
  auto sink = FileSink::create(dir.path() / "x.tar");
  REQUIRE(sink.ok());
  podman::CheckpointOptions options;
  options.pre_checkpoint = true;
  auto r = engine.checkpoint(name, options, **sink, OperationContext{});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kUnsupported);
  CHECK(r.error().message().find("soft-dirty") != std::string::npos);
  CHECK(a.client().inspect_container(name)->running());
  a.remove(name);
}

TEST_CASE("a node declared without CRIU refuses to checkpoint") {
  SandboxNode a("node-1");
  podman::EngineConfig config = a.engine_config();
  config.criu_probe = podman::EngineConfig::CriuProbe::kAssumeAbsent;
  podman::Engine engine(a.client(), config);
  auto caps = engine.capabilities();
  REQUIRE(caps.ok());
  CHECK_FALSE(caps->checkpoint);
  TempDir dir;
  auto sink = FileSink::create(dir.path() / "x.tar");
  REQUIRE(sink.ok());
  auto r = engine.checkpoint("anything", {}, **sink, OperationContext{});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kUnsupported);
}

TEST_CASE("the real sandbox runtime reports CRIU") {
  SandboxNode a("node-1");
  auto caps = a.engine().capabilities();
  REQUIRE(caps.ok());
  CHECK(caps->checkpoint);
  CHECK(caps->host.oci_runtime == "crun");
}

}  // namespace
}  // namespace wscp::testing
