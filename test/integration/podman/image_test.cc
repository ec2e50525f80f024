// Shipping images through the store, against real Podman: an image archive
// is trusted only to carry the image it is named for.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

#include "common/file_stream.h"
#include "migration/plan.h"
#include "sandbox_node.h"

namespace wscp::testing {
namespace {

using namespace std::chrono_literals;

void run_or_fail(const std::string& command) {
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
}

TEST_CASE("an image archive that would retag another image is refused, the tag is put back, the source resumes") {
  SandboxNode a("node-1"), b("node-2");
  StoreFixture store;
  NodePhases from(a, store), to(b, store);
  a.ensure_testbox();
  b.remove_testbox();  // the destination lacks the image: it is shipped
  auto image = a.client().find_image("localhost/wscp-testbox:latest");
  REQUIRE(image.ok());
  REQUIRE(image->has_value());
  const std::string image_id = (*image)->id;
  const std::string victim = "localhost/" + unique_name("wscp-victim") + ":latest";
  const std::string victim_id = b.import_testbox_as(victim);
  const std::string name = unique_name("imaged");
  a.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"});
  REQUIRE(eventually(30s, [&] { return a.count(name) >= 10; }));
  const long long before = a.count(name);

  // node-1's image as a docker archive whose manifest also names the
  // victim, stored as the image's blob, as anyone who can write to the
  // store (and holds its key) could make it.
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
    auto in = FileSource::open(dir.path() / "evil.tar");
    REQUIRE(in.ok());
    auto stored = store.checkpoints->put_image(migration::image_digest(image_id), {"localhost/wscp-testbox:latest"},
                                               "oci-archive", **in, ctx);
    REQUIRE_MESSAGE(stored.ok(), (stored.ok() ? "" : stored.error().describe()));
  }

  migration::PlanRequest request;
  request.workspace = name;
  auto r = migrate(from, to, request);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().describe()));
  REQUIRE(r->failure.has_value());
  INFO(r->failure->describe());
  CHECK(r->outcome == migration::Outcome::kKeptOnSource);
  CHECK(r->failure->code() == ErrorCode::kIntegrity);
  CHECK(r->failure->message().find(victim) != std::string::npos);
  auto still = b.client().find_image(victim);
  REQUIRE(still.ok());
  REQUIRE(still->has_value());
  CHECK((*still)->id == victim_id);  // the victim's name points where it did
  auto loaded = b.client().find_image(image_id);
  REQUIRE(loaded.ok());
  CHECK_FALSE(loaded->has_value());  // what the load brought is gone again
  CHECK_FALSE(*b.client().container_exists(name));
  CHECK(a.client().inspect_container(name)->running());
  CHECK(eventually(30s, [&] { return a.count(name) >= before + 10; }));
  a.remove(name);
  b.call("DELETE", "images/" + victim_id + "?force=true");
}

}  // namespace
}  // namespace wscp::testing
