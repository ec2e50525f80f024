#include "store/compression.h"

#include <doctest/doctest.h>

#include <random>

#include "test_util.h"

using namespace wscp;
using namespace wscp::store;
using namespace wscp::store::testing;

namespace {

std::string compress(const std::string& plain, CompressionOptions options, std::uint64_t* raw_bytes = nullptr) {
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
  if (raw_bytes != nullptr) *raw_bytes = (*sink)->raw_bytes();
  return out.out;
}

std::string random_bytes(std::size_t size, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(size, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

std::string text(std::size_t size) {
  std::string s;
  for (int line = 0; s.size() < size; ++line) s += "export function handler" + std::to_string(line % 5000) + "() {}\n";
  s.resize(size);
  return s;
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

TEST_CASE("incompressible windows are stored raw, and the stream still decodes as zstd") {
  const auto noise = random_bytes(5 << 20, 7);
  for (int workers : {0, 2}) {
    std::uint64_t raw = 0;
    auto packed = compress(noise, {Compression::kZstd, 3, workers}, &raw);
    CHECK(raw == noise.size());
    // Five raw frames: 6 header bytes each and 3 per 128 KiB block.
    CHECK(packed.size() == noise.size() + 5 * 6 + 40 * 3);
    auto back = decompress(packed);
    REQUIRE(back);
    CHECK(*back == noise);
  }
}

TEST_CASE("compressible and incompressible windows alternate in one stream") {
  // Windows not a multiple of zstd's 128 KiB raw block, so blocks are split.
  CompressionOptions options{Compression::kZstd, 3, 2};
  options.raw_window = 300'001;
  const std::string plain = text(2 << 20) + random_bytes(1 << 20, 1) + text(700'000) + random_bytes(900'000, 2) +
                            text(123);
  std::uint64_t raw = 0;
  auto packed = compress(plain, options, &raw);
  CHECK(raw > 1'500'000);
  CHECK(raw < 2'500'000);
  CHECK(packed.size() < raw + 600'000);  // 2.8 MB of text in well under 0.6 MB
  auto back = decompress(packed);
  REQUIRE(back);
  CHECK(*back == plain);
  // A cut anywhere in a raw frame is still a truncation.
  auto cut = decompress(packed.substr(0, packed.size() - 500'000));
  REQUIRE_FALSE(cut);
  CHECK(cut.error().code() == ErrorCode::kIntegrity);
}

TEST_CASE("compressible input is compressed whole, and probing can be turned off") {
  const auto words = text(3 << 20);
  std::uint64_t raw = 1;
  auto packed = compress(words, {Compression::kZstd, 3, 2}, &raw);
  CHECK(raw == 0);
  CHECK(packed.size() < words.size() / 10);

  CompressionOptions always{Compression::kZstd, 3, 0};
  always.raw_window = 0;
  const auto noise = random_bytes(1 << 20, 3);
  packed = compress(noise, always, &raw);
  CHECK(raw == 0);
  CHECK(decompress(packed).value() == noise);
}

TEST_CASE("an empty stream is one empty frame") {
  std::uint64_t raw = 1;
  auto packed = compress("", {Compression::kZstd, 3, 0}, &raw);
  CHECK(raw == 0);
  CHECK_FALSE(packed.empty());
  CHECK(decompress(packed).value().empty());
}
