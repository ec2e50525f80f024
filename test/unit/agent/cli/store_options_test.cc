#include "agent/cli/store_options.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>

#include "test_util.h"

using namespace wscp;
using namespace wscp::store::testing;

namespace {

std::string key_file(const TempDir& dir, const std::string& name, const std::string& hex) {
  auto path = (dir.path / name).string();
  std::ofstream(path) << hex << "\n";
  ::chmod(path.c_str(), 0600);
  return path;
}

}  // namespace

TEST_CASE("an s3:// store without any key is refused, saying what to pass") {
  agent::StoreArgs args;
  args.via = "s3://bucket/prefix?endpoint=http://127.0.0.1:9";
  auto o = args.store_options();
  REQUIRE_FALSE(o);
  CHECK(o.error().code() == ErrorCode::kInvalidArgument);
  CHECK(o.error().message().find("--encryption-key") != std::string::npos);
  CHECK(o.error().message().find("--manifest-key") != std::string::npos);
  // Opening the store is refused the same way, before credentials are looked for.
  auto opened = args.open_store();
  REQUIRE_FALSE(opened);
  CHECK(opened.error().message().find("--encryption-key") != std::string::npos);

  TempDir dir;
  args.manifest_key_file = key_file(dir, "mac", std::string(64, 'a'));
  CHECK(args.store_options());
  args.manifest_key_file.clear();
  args.encryption_key_file = key_file(dir, "enc", std::string(64, 'b'));
  CHECK(args.store_options());

  // A local directory may go without.
  agent::StoreArgs local;
  local.via = dir.path.string();
  CHECK(local.store_options());
  CHECK(local.open_store());

  // A key file others can read is refused, naming the fix.
  agent::StoreArgs shared;
  shared.via = "s3://bucket/prefix?endpoint=http://127.0.0.1:9";
  shared.encryption_key_file = key_file(dir, "loose", std::string(64, 'c'));
  ::chmod(shared.encryption_key_file.c_str(), 0644);
  auto loose = shared.store_options();
  REQUIRE_FALSE(loose);
  CHECK(loose.error().message().find("chmod 600") != std::string::npos);

  // A keyring file: the first key is current, the others decrypt.
  shared.encryption_key_file = key_file(dir, "ring", std::string(64, 'd') + "\n" + std::string(64, 'e'));
  auto ring = shared.store_options();
  REQUIRE_MESSAGE(ring, (ring ? "" : ring.error().describe()));
  CHECK(ring->pipeline.encryption_key->id == store::parse_key(std::string(64, 'd'))->id);
  REQUIRE(ring->pipeline.older_keys.size() == 1);
  CHECK(ring->pipeline.older_keys[0].id == store::parse_key(std::string(64, 'e'))->id);
}
