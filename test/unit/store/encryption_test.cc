#include "store/encryption.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "test_util.h"

using namespace wscp;
using namespace wscp::store;
using namespace wscp::store::testing;

namespace {

EncryptionKey key_of(char fill) {
  std::array<std::uint8_t, 32> bytes{};
  bytes.fill(static_cast<std::uint8_t>(fill));
  return make_key(bytes);
}

std::string seal(const std::string& plain, const EncryptionKey& key, std::size_t chunk) {
  StringSink out;
  auto sink = EncryptingSink::make(out, key, chunk);
  REQUIRE(sink);
  REQUIRE((*sink)->write(std::as_bytes(std::span(plain.data(), plain.size()))));
  REQUIRE((*sink)->close());
  return out.out;
}

Result<std::string> open_sealed(const std::string& sealed, const EncryptionKey& key) {
  StringSource in(sealed);
  DecryptingSource src(in, key);
  return read_all(src, 777);
}

}  // namespace

TEST_CASE("encryption round trips at every chunk boundary") {
  auto key = key_of('k');
  for (std::size_t size : {0, 1, 99, 100, 101, 200, 1000}) {
    auto plain = pattern(size, static_cast<std::uint32_t>(size));
    auto sealed = seal(plain, key, 100);
    CHECK(sealed.size() > plain.size());
    auto back = open_sealed(sealed, key);
    REQUIRE_MESSAGE(back, (back ? "" : back.error().describe()));
    CHECK(*back == plain);
  }
}

TEST_CASE("the same plaintext encrypts differently each time (random salt)") {
  auto key = key_of('k');
  CHECK(seal("hello", key, 64) != seal("hello", key, 64));
}

TEST_CASE("truncation at a chunk boundary is detected") {
  auto key = key_of('k');
  auto plain = pattern(1000);
  auto sealed = seal(plain, key, 100);
  std::size_t header = sealed.size() - 10 * 116;  // 10 chunks of 100 + tag
  auto cut = sealed.substr(0, header + 5 * 116);
  auto back = open_sealed(cut, key);
  REQUIRE_FALSE(back);
  CHECK(back.error().code() == ErrorCode::kIntegrity);
  CHECK(!open_sealed(sealed.substr(0, sealed.size() - 1), key));
  CHECK(!open_sealed(sealed.substr(0, 20), key));
}

TEST_CASE("reordered and duplicated chunks are detected") {
  auto key = key_of('k');
  auto sealed = seal(pattern(1000), key, 100);
  std::size_t header = sealed.size() - 10 * 116;
  std::string swapped = sealed;
  std::copy_n(sealed.begin() + static_cast<long>(header + 116), 116, swapped.begin() + static_cast<long>(header));
  std::copy_n(sealed.begin() + static_cast<long>(header), 116, swapped.begin() + static_cast<long>(header + 116));
  CHECK(open_sealed(swapped, key).error().code() == ErrorCode::kIntegrity);
  std::string duplicated = sealed;
  duplicated.insert(header, sealed.substr(header, 116));
  CHECK(!open_sealed(duplicated, key));
}

TEST_CASE("a flipped bit anywhere is detected") {
  auto key = key_of('k');
  auto sealed = seal(pattern(500), key, 100);
  for (std::size_t pos : {std::size_t{3}, std::size_t{20}, sealed.size() / 2, sealed.size() - 1}) {
    std::string bad = sealed;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x01);
    CHECK_MESSAGE(!open_sealed(bad, key), "position ", pos);
  }
}

TEST_CASE("a wrong key is named as such") {
  auto sealed = seal("secret memory", key_of('a'), 64);
  auto back = open_sealed(sealed, key_of('b'));
  REQUIRE_FALSE(back);
  CHECK(back.error().code() == ErrorCode::kPermissionDenied);
  CHECK(back.error().message().find(key_of('a').id) != std::string::npos);
}

TEST_CASE("keys parse from raw bytes or hex") {
  auto hex = parse_key("  00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n");
  REQUIRE(hex);
  CHECK(hex->bytes[1] == 0x11);
  CHECK(hex->id.rfind("kid-", 0) == 0);
  CHECK(parse_key(std::string(32, 'x')));
  CHECK(!parse_key("short"));
  CHECK(!parse_key(std::string(64, 'z')));
  CHECK(load_key_file("/nonexistent/key").error().code() == ErrorCode::kNotFound);
}
