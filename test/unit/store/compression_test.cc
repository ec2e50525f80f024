#include "store/compression.h"

#include <doctest/doctest.h>

#include "test_util.h"

using namespace wscp;
using namespace wscp::store;
using namespace wscp::store::testing;

namespace {

std::string compress(const std::string& plain, CompressionOptions options) {
  StringSink out;
  auto sink = ZstdCompressSink::make(out, options);
  REQUIRE(sink);
  // Odd-sized writes, as an HTTP body arrives.
  for (std::size_t pos = 0; pos < plain.size(); pos += 70'001) {
    auto piece = std::string_view(plain).substr(pos, 70'001);
    REQUIRE((*sink)->write(std::as_bytes(std::span(piece.data(), piece.size()))));
  }
  REQUIRE((*sink)->close());
  CHECK(out.closed);
  return out.out;
}

Result<std::string> decompress(const std::string& data) {
  StringSource in(data);
  auto src = ZstdDecompressSource::make(in);
  REQUIRE(src);
  return read_all(**src, 65'536);
}

}  // namespace

TEST_CASE("zstd round trips with and without worker threads") {
  auto plain = pattern(3 << 20);
  for (int workers : {0, 2}) {
    auto packed = compress(plain, {Compression::kZstd, 3, workers});
    CHECK(packed.size() < plain.size());
    auto back = decompress(packed);
    REQUIRE(back);
    CHECK(*back == plain);
  }
}

TEST_CASE("a truncated zstd stream is an error, not a short end") {
  auto packed = compress(pattern(1 << 20), {Compression::kZstd, 1, 0});
  auto back = decompress(packed.substr(0, packed.size() / 2));
  REQUIRE_FALSE(back);
  CHECK(back.error().code() == ErrorCode::kIntegrity);
  CHECK(!decompress(packed + "garbage"));
}

TEST_CASE("compression names and levels are checked") {
  CHECK(parse_compression("zstd").value() == Compression::kZstd);
  CHECK(parse_compression("none").value() == Compression::kNone);
  CHECK(!parse_compression("gzip"));
  StringSink out;
  CHECK(!ZstdCompressSink::make(out, {Compression::kZstd, 99, 0}));
}
