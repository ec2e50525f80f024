#include "store/verifying_source.h"

#include <doctest/doctest.h>

#include "test_util.h"

using namespace wscp;
using namespace wscp::store;
using namespace wscp::store::testing;

namespace {

StreamDigests digests_of(const std::string& data, std::uint64_t part_size) {
  DigestTracker t(part_size);
  t.update(std::as_bytes(std::span(data.data(), data.size())));
  return t.finish();
}

// Returns bytes delivered before the error (or the end).
std::pair<std::size_t, bool> drain(ByteSource& src) {
  std::size_t total = 0;
  std::vector<std::byte> buf(4096);
  for (;;) {
    auto n = src.read(buf);
    if (!n) return {total, false};
    if (*n == 0) return {total, true};
    total += *n;
  }
}

}  // namespace

TEST_CASE("verifying source passes good data and rejects a bad part early") {
  auto data = pattern(100'000);
  auto d = digests_of(data, 10'000);
  CHECK(d.parts.size() == 10);
  {
    StringSource in(data);
    VerifyingSource v(in, d, "test");
    auto back = read_all(v);
    REQUIRE(back);
    CHECK(*back == data);
  }
  std::string bad = data;
  bad[15'000] ^= 1;
  StringSource in(bad);
  VerifyingSource v(in, d, "test");
  auto [delivered, clean] = drain(v);
  CHECK_FALSE(clean);
  CHECK(delivered < 24'000);  // stopped at part 2, not at the end
}

TEST_CASE("verifying source rejects truncated and extended streams") {
  auto data = pattern(50'000);
  auto d = digests_of(data, 0);
  StringSource short_in(data.substr(0, 49'999));
  VerifyingSource a(short_in, d, "t");
  CHECK(read_all(a).error().message().find("truncated") != std::string::npos);
  StringSource long_in(data + "x");
  VerifyingSource b(long_in, d, "t");
  CHECK(!read_all(b));
}

TEST_CASE("holdback source never delivers the tail of a stream that fails at its end") {
  auto data = pattern(300'000);
  auto d = digests_of(data, 0);
  std::string bad = data;
  bad.back() ^= 1;
  StringSource in(bad);
  VerifyingSource v(in, d, "t");
  HoldbackSource h(v, 65'536);
  auto [delivered, clean] = drain(h);
  CHECK_FALSE(clean);
  CHECK(delivered <= data.size() - 65'536);

  StringSource good_in(data);
  VerifyingSource good(good_in, d, "t");
  HoldbackSource hg(good, 65'536);
  auto back = read_all(hg, 1000);
  REQUIRE(back);
  CHECK(*back == data);
}
