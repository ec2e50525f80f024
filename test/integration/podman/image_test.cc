// Shipping images through the shared cache, against real Podman: an image
// archive is trusted only to carry the image it is named for.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

#include "common/file_stream.h"
#include "podman/migration.h"
#include "sandbox_node.h"

namespace wscp::testing {
namespace {

void run_or_fail(const std::string& command) {
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
}

TEST_CASE("an image archive that would retag another image is refused, and the tag is put back") {
  SandboxNode a("node-1"), b("node-2");
  StoreFixture store;
  a.ensure_testbox();
  b.remove_testbox();  // the destination lacks the image: it is shipped
  auto image = a.client().find_image("localhost/wscp-testbox:latest");
  REQUIRE(image.ok());
  REQUIRE(image->has_value());
  podman::ContainerInfo facts;
  facts.image_name = "localhost/wscp-testbox:latest";
  facts.image_id = (*image)->id;
  const std::string victim = "localhost/" + unique_name("wscp-victim") + ":latest";
  const std::string victim_id = b.import_testbox_as(victim);

  // node-1's image as a docker archive whose manifest also names the
  // victim, as anyone who can write to the store could make it.
  TempDir dir;
  const OperationContext ctx;
  a.save("images/localhost%2Fwscp-testbox:latest/get?format=docker-archive", dir.path() / "image.tar");
  std::filesystem::create_directories(dir.path() / "x");
  run_or_fail("tar -C " + (dir.path() / "x").string() + " -xf " + (dir.path() / "image.tar").string());
  auto manifest_file = dir.path() / "x" / "manifest.json";
  nlohmann::json manifest;
  std::ifstream(manifest_file) >> manifest;
  manifest.at(0).at("RepoTags").push_back(victim);
  std::ofstream(manifest_file) << manifest.dump();
  run_or_fail("tar -C " + (dir.path() / "x").string() + " -cf " + (dir.path() / "evil.tar").string() + " .");
  {
    auto sink = store.spool().create(podman::image_archive_key(facts), ctx);
    REQUIRE(sink.ok());
    auto in = FileSource::open(dir.path() / "evil.tar");
    REQUIRE(in.ok());
    REQUIRE(copy_stream(**in, **sink).ok());
    REQUIRE((*sink)->close().ok());
  }

  auto shipped = podman::ship_image(a.engine(), b.engine(), store.spool(), facts, OperationContext{});
  REQUIRE_FALSE(shipped.ok());
  INFO(shipped.error().describe());
  CHECK(shipped.error().code() == ErrorCode::kIntegrity);
  CHECK(shipped.error().message().find(victim) != std::string::npos);
  auto still = b.client().find_image(victim);
  REQUIRE(still.ok());
  REQUIRE(still->has_value());
  CHECK((*still)->id == victim_id);  // the victim's name points where it did
  auto loaded = b.client().find_image(facts.image_id);
  REQUIRE(loaded.ok());
  CHECK_FALSE(loaded->has_value());  // what the load brought is gone again
  b.call("DELETE", "images/" + victim_id + "?force=true");
}

}  // namespace
}  // namespace wscp::testing
