#include "store/encryption_key.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>

#include "test_util.h"

using namespace wscp;
using namespace wscp::store;
using namespace wscp::store::testing;

namespace {

const std::string kHexA = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const std::string kHexB = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

std::string write_file(const TempDir& dir, const std::string& name, const std::string& text, mode_t mode) {
  auto path = (dir.path / name).string();
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
  return path;
}

}  // namespace

TEST_CASE("key files readable or writable by group or others are refused") {
  TempDir dir;
  for (mode_t mode : {0644, 0640, 0604, 0620, 0660}) {
    auto path = write_file(dir, "key", kHexA + "\n", mode);
    auto key = load_key_file(path);
    INFO("mode " << std::oct << mode);
    REQUIRE_FALSE(key);
    CHECK(key.error().code() == ErrorCode::kPermissionDenied);
    CHECK(key.error().message().find("chmod 600 " + path) != std::string::npos);
  }
  for (mode_t mode : {0600, 0400}) {
    auto path = write_file(dir, "key", kHexA + "\n", mode);
    CHECK(load_key_file(path));
  }
}

TEST_CASE("a key file holds a keyring: the current key first, older keys after it") {
  TempDir dir;
  auto path = write_file(dir, "ring", "# rotated 2026-11\n" + kHexB + "\n\n" + kHexA + "\n", 0600);
  auto ring = load_keyring_file(path);
  REQUIRE_MESSAGE(ring, (ring ? "" : ring.error().describe()));
  REQUIRE(ring->keys().size() == 2);
  CHECK(ring->current()->id == parse_key(kHexB)->id);
  CHECK(ring->find(parse_key(kHexA)->id) != nullptr);
  CHECK(ring->find("kid-0000") == nullptr);
  CHECK(load_key_file(path)->id == parse_key(kHexB)->id);
  // A single key, raw or hex, is a ring of one.
  CHECK(load_keyring_file(write_file(dir, "one", kHexA, 0600))->keys().size() == 1);
  CHECK(load_keyring_file(write_file(dir, "raw", std::string(32, '\n'), 0400))->keys().size() == 1);
  // Bad lines are named; a key listed twice and an empty file are refused.
  auto bad = load_keyring_file(write_file(dir, "bad", kHexA + "\nnot a key\n", 0600));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message().find("line 2") != std::string::npos);
  CHECK_FALSE(load_keyring_file(write_file(dir, "twice", kHexA + "\n" + kHexA + "\n", 0600)));
  CHECK_FALSE(load_keyring_file(write_file(dir, "empty", "# nothing\n", 0600)));
}
