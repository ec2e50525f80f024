#include "agent/inventory/inventory.h"

#include <doctest/doctest.h>

#include "inventory/stub_podman.h"

using namespace wscp;
using namespace wscp::agent;
using namespace wscp::agent::inventory;

TEST_CASE("inventory: workspaces are labelled containers, compose projects grouped") {
  testing::StubPodman podman;
  podman.containers = {
      {"i1", "solo", "running", {{"dev.containers.id", "ws-solo"}}},
      {"i2", "app", "running", {{"dev.containers.id", "ws-app"}, {"com.docker.compose.project", "shop"}}},
      {"i3", "db", "exited", {{"com.docker.compose.project", "shop"}}},
      {"i4", "stray", "running", {}},
  };
  testing::StubProbe probe;
  probe.free["/var/lib/containers/storage"] = 5000;
  Inventory inv(podman, probe, {});
  auto ws = inv.workspaces();
  REQUIRE(ws.ok());
  REQUIRE(ws->size() == 2);
  const auto& app = (*ws)[0];
  CHECK(app.id == "ws-app");
  CHECK(app.project == "shop");
  CHECK(app.primary == "app");
  REQUIRE(app.containers.size() == 2);
  CHECK_FALSE(app.running);  // db is not running
  CHECK((*ws)[1].id == "ws-solo");
  CHECK((*ws)[1].running);
  CHECK_FALSE(to_json(app).contains("memoryBytes"));  // never guessed

  auto cap = inv.capacity();
  REQUIRE(cap.ok());
  CHECK(cap->memory_available_bytes == 1024u * 1024u);
  CHECK(cap->disk_free_bytes.size() == 1);  // /var/tmp unreadable here: left out
  CHECK(cap->disk_free_bytes.at("/var/lib/containers/storage") == 5000);
  CHECK(cap->workspaces_running == 1);
}

TEST_CASE("inventory: a workspace's memory is its running containers' together, or unknown") {
  testing::StubPodman podman;
  podman.containers = {
      {"i1", "web", "running", {{"dev.containers.id", "ws-web"}, {"com.docker.compose.project", "shop"}}},
      {"i2", "db", "running", {{"com.docker.compose.project", "shop"}}},
      {"i3", "solo", "running", {{"dev.containers.id", "ws-solo"}, {"tier", "gold"}}},
  };
  podman.memory = {{"i1", 100}, {"i2", 50}};  // i3: Podman gives no figure
  testing::StubProbe probe;
  Inventory inv(podman, probe, {});
  auto ws = inv.workspaces();
  REQUIRE(ws.ok());
  REQUIRE(ws->size() == 2);
  const auto& solo = (*ws)[0];  // sorted by id
  const auto& web = (*ws)[1];
  CHECK(web.memory_bytes == std::optional<std::uint64_t>(150));
  CHECK(to_json(web).at("memoryBytes") == 150);
  CHECK_FALSE(solo.memory_bytes.has_value());  // never a partial or guessed figure
  CHECK(solo.labels.at("tier") == "gold");
}

TEST_CASE("inventory: MemAvailable is read in bytes; a missing line is an error") {
  CHECK(*parse_mem_available("MemTotal: 10 kB\nMemAvailable:     2 kB\n") == 2048);
  CHECK_FALSE(parse_mem_available("MemTotal: 10 kB\n").ok());
  CHECK_FALSE(parse_mem_available("MemAvailable: lots\n").ok());
}

TEST_CASE("inventory: Podman out of reach is kUnavailable") {
  testing::StubPodman podman;
  podman.reachable = false;
  testing::StubProbe probe;
  Inventory inv(podman, probe, {});
  CHECK(inv.workspaces().error().code() == ErrorCode::kUnavailable);
}

TEST_CASE("inventory: disk capacity is read where Podman's /info says it keeps its storage and stages copies") {
  testing::StubPodman podman;
  podman.host.graph_root = "/srv/containers/storage";
  podman.host.image_copy_tmp_dir = "/srv/podman-tmp";
  testing::StubProbe probe;
  probe.free["/srv/containers/storage"] = 7000;
  probe.free["/srv/podman-tmp"] = 3000;
  probe.free["/var/lib/containers/storage"] = 1;  // Podman's default, not where this one keeps it
  Inventory inv(podman, probe, {});
  auto cap = inv.capacity();
  REQUIRE(cap.ok());
  CHECK(cap->disk_free_bytes == std::map<std::string, std::uint64_t>{{"/srv/containers/storage", 7000},
                                                                      {"/srv/podman-tmp", 3000}});

  InventoryOptions fixed;
  fixed.disk_paths = {"/var/lib/containers/storage"};  // configured paths win
  Inventory configured(podman, probe, fixed);
  cap = configured.capacity();
  REQUIRE(cap.ok());
  CHECK(cap->disk_free_bytes == std::map<std::string, std::uint64_t>{{"/var/lib/containers/storage", 1}});
}
