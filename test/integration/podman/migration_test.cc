// Single-workspace migrations between the two sandbox nodes through the
// phases (migration::migrate_workspace) and a store directory, against real
// Podman + CRIU.
#include <doctest/doctest.h>

#include <regex>

#include "sandbox_node.h"

namespace wscp::testing {
namespace {

using namespace std::chrono_literals;

std::string field(const std::string& status, const std::string& key) {
  std::smatch m;
  std::regex re(key + "=([0-9a-f]+)");
  return std::regex_search(status, m, re) ? m[1].str() : std::string();
}

struct Nodes {
  SandboxNode a{"node-1"};
  SandboxNode b{"node-2"};
  StoreFixture store;
  NodePhases from{a, store};
  NodePhases to{b, store};
};

const podman::Workspace& only(const migration::MigrationReport& r) {
  REQUIRE(r.running.size() == 1);
  return r.running.front();
}

TEST_CASE("a counter migrates to a node without its image and keeps counting") {
  Nodes n;
  const std::string name = unique_name("counter");
  n.b.remove_testbox();  // the destination lacks the image: it must be shipped
  n.a.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"});
  REQUIRE(eventually(30s, [&] { return n.a.count(name) >= 20; }));
  const long long before = n.a.count(name);

  auto result = migrate_ok(n.from, n.to, name);

  REQUIRE(result.restored.has_value());
  CHECK(result.restored->images_loaded.size() == 1);  // the image was shipped
  CHECK(only(result).id == name);
  CHECK(only(result).container.image_name == "localhost/wscp-testbox:latest");
  CHECK(only(result).container.labels.at("dev.containers.id") == name);
  REQUIRE(result.sealed.has_value());
  REQUIRE(result.sealed->dumps.size() == 1);
  REQUIRE(result.sealed->dumps[0].stats.has_value());
  CHECK(result.sealed->dumps[0].stats->pages_written > 0);
  CHECK(result.sealed->dumps[0].stats->frozen_time_us > 0);
  // The checkpoint stays in the store, sealed, and its claim says restored.
  auto manifest = n.store.checkpoints->read_manifest(name, result.plan.checkpoint_id, OperationContext{});
  REQUIRE_MESSAGE(manifest.ok(), (manifest.ok() ? "" : manifest.error().describe()));
  CHECK(manifest->containers.size() == 1);
  // Gone from the source, running on the destination, counting on from before.
  CHECK_FALSE(*n.a.client().container_exists(name));
  const long long first = n.b.count(name);
  CHECK(first >= before);
  CHECK(eventually(30s, [&] { return n.b.count(name) >= first + 10; }));
  n.b.remove(name);
}

TEST_CASE("a 256 MiB memory workload keeps its memory checksum across a migration") {
  Nodes n;
  const std::string name = unique_name("memload");
  n.a.run(name, {"/usr/local/bin/wscp-memload", "256", "/var/wscp/memload", "200"});
  std::string status;
  REQUIRE(eventually(60s, [&] {
    status = n.a.read_file(name, "/var/wscp/memload");
    return status.find("ok=1") != std::string::npos;
  }));
  const std::string expected = field(status, "expected");
  const long long round_before = std::stoll(field(status, "round"));

  auto result = migrate_ok(n.from, n.to, name);
  REQUIRE(result.sealed.has_value());
  CHECK(result.sealed->dumps.at(0).archive_bytes > 256ull * 1024 * 1024);

  std::string after;
  REQUIRE(eventually(60s, [&] {
    after = n.b.read_file(name, "/var/wscp/memload");
    return !after.empty() && std::stoll(field(after, "round")) > round_before + 2;
  }));
  INFO("before: " << status << " after: " << after);
  CHECK(field(after, "expected") == expected);  // the same process, not a restart
  CHECK(field(after, "actual") == expected);
  CHECK(after.find("ok=1") != std::string::npos);
  n.b.remove(name);
}

TEST_CASE("an established loopback TCP connection survives a migration with tcpEstablished") {
  Nodes n;
  const std::string name = unique_name("tcppair");
  n.a.run(name, {"/usr/local/bin/wscp-tcppair", "7070", "/var/wscp/tcppair", "50"});
  std::string status;
  REQUIRE(eventually(30s, [&] {
    status = n.a.read_file(name, "/var/wscp/tcppair");
    return !status.empty() && std::stoll(field(status, "exchanges")) >= 10;
  }));
  REQUIRE(field(status, "connections") == "1");
  const long long exchanges_before = std::stoll(field(status, "exchanges"));

  migration::PlanRequest request;
  request.checkpoint.tcp_established = true;
  request.restore.tcp_established = true;
  migrate_ok(n.from, n.to, name, request);

  std::string after;
  REQUIRE(eventually(30s, [&] {
    after = n.b.read_file(name, "/var/wscp/tcppair");
    return !after.empty() && std::stoll(field(after, "exchanges")) > exchanges_before + 10;
  }));
  INFO("before: " << status << " after: " << after);
  CHECK(field(after, "connections") == "1");
  CHECK(field(after, "breaks") == "0");
  n.b.remove(name);
}

TEST_CASE("a restore that fails on the destination brings the workspace back on the source") {
  Nodes n;
  const std::string name = unique_name("fallback");
  // A bind source that exists on node-1 only.
  const std::string bind_dir = "/tmp/" + name;
  std::filesystem::create_directories(n.a.root() / bind_dir.substr(1));
  n.a.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"},
          {{"mounts", {{{"type", "bind"}, {"source", bind_dir}, {"destination", "/data"}}}}});
  REQUIRE(eventually(30s, [&] { return n.a.count(name) >= 10; }));
  const long long before = n.a.count(name);

  SUBCASE("caught by the pre-flight check, before the source is touched") {
    migration::PlanRequest request;
    request.workspace = name;
    auto result = migrate(n.from, n.to, request);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code() == ErrorCode::kNotFound);
    CHECK(result.error().message().find(bind_dir) != std::string::npos);
    CHECK(n.a.client().inspect_container(name)->running());
    CHECK(journal_empty(n.from));
  }
  SUBCASE("failing inside Podman on the destination") {
    // The destination engine is told to look at node-1's files, so the
    // pre-flight passes and the restore itself fails in CRIU on node-2.
    podman::EngineConfig misled = n.b.engine_config();
    misled.host_root = n.a.root();
    podman::Engine destination(n.b.client(), misled);
    NodePhases to(n.b.name(), destination, n.store);
    migration::PlanRequest request;
    request.workspace = name;
    auto result = migrate(n.from, to, request);
    REQUIRE_MESSAGE(result.ok(), (result.ok() ? "" : result.error().describe()));
    INFO((result->failure ? result->failure->describe() : ""));
    CHECK(result->outcome == migration::Outcome::kKeptOnSource);
    REQUIRE(result->failure.has_value());
    CHECK(result->failure->code() == ErrorCode::kRestoreFailed);
    CHECK(result->on_destination_only.empty());
    CHECK(result->not_running.empty());
    CHECK(journal_empty(n.from));
    CHECK(journal_empty(to));
  }
  // Nothing half-made on the destination; the count goes on at the source.
  CHECK_FALSE(*n.b.client().container_exists(name));
  auto back = n.a.client().inspect_container(name);
  REQUIRE(back.ok());
  CHECK(back->running());
  const long long resumed = n.a.count(name);
  CHECK(resumed >= before);
  CHECK(eventually(30s, [&] { return n.a.count(name) >= resumed + 10; }));
  n.a.remove(name);
  std::filesystem::remove_all(n.a.root() / bind_dir.substr(1));
}

}  // namespace
}  // namespace wscp::testing
