#include "podman/archive_tap.h"

#include <doctest/doctest.h>

#include "common/memory_stream.h"
#include "podman/tar_builder.h"

namespace wscp::podman {
namespace {

// A real stats-dump taken from a CRIU 4 checkpoint of a small container.
const unsigned char kStatsDump[] = {
    0x40, 0x59, 0x10, 0x55, 0x06, 0x33, 0x09, 0x57, 0x22, 0x00, 0x00, 0x00, 0x0a, 0x20, 0x08, 0xb9,
    0x0e, 0x10, 0xde, 0xd9, 0x05, 0x18, 0xa5, 0x04, 0x20, 0x68, 0x28, 0x18, 0x30, 0x00, 0x38, 0x11,
    0x40, 0x00, 0x48, 0x00, 0x50, 0x04, 0x58, 0x04, 0x60, 0x00, 0x68, 0x00, 0x70, 0x00};

std::string stats_dump() { return std::string(reinterpret_cast<const char*>(kStatsDump), sizeof kStatsDump); }

void feed(ArchiveTap& tap, const std::string& data, std::size_t chunk) {
  bool all_ok = true;
  for (std::size_t i = 0; i < data.size(); i += chunk) {
    auto piece = std::string_view(data).substr(i, chunk);
    all_ok = tap.write(std::as_bytes(std::span(piece.data(), piece.size()))).ok() && all_ok;
  }
  REQUIRE(all_ok);
}

TEST_CASE("the tap passes every byte on and captures the named members, whatever the write sizes") {
  std::string big(70000, 'x');
  std::string archive = testing::TarBuilder()
                            .add("config.dump", "{\"name\":\"c1\"}")
                            .add("checkpoint/pages-1.img", big)
                            .add("stats-dump", stats_dump())
                            .finish();
  for (std::size_t chunk : {1ul, 7ul, 511ul, 512ul, 4096ul, 1ul << 20}) {
    CAPTURE(chunk);
    StringSink sink;
    ArchiveTap tap(sink, {"stats-dump", "config.dump"});
    feed(tap, archive, chunk);
    CHECK(sink.out == archive);
    CHECK(tap.bytes() == archive.size());
    CHECK(tap.saw_end());
    CHECK(tap.member("config.dump") == "{\"name\":\"c1\"}");
    CHECK(tap.member("stats-dump") == stats_dump());
    CHECK_FALSE(tap.member("checkpoint/pages-1.img").has_value());
  }
}

TEST_CASE("a truncated archive is seen as one that did not reach its end") {
  std::string archive = testing::TarBuilder().add("stats-dump", stats_dump()).finish();
  StringSink sink;
  ArchiveTap tap(sink, {});
  feed(tap, archive.substr(0, archive.size() - 1024 - 100), 4096);
  CHECK_FALSE(tap.saw_end());
}

TEST_CASE("GNU long names name the member that follows") {
  std::string long_name(150, 'n');
  std::string archive = testing::TarBuilder().add("././@LongLink", long_name + '\0', 'L').add("short", "data").finish();
  StringSink sink;
  ArchiveTap tap(sink, {long_name});
  feed(tap, archive, 100);
  CHECK(tap.member(long_name) == "data");
}

TEST_CASE("close is passed on") {
  StringSink sink;
  ArchiveTap tap(sink, {});
  REQUIRE(tap.close().ok());
  CHECK(sink.closed);
}

TEST_CASE("CRIU dump statistics are read from stats-dump") {
  auto stats = parse_stats_dump(stats_dump());
  REQUIRE(stats.has_value());
  CHECK(stats->freezing_time_us == 1849);
  CHECK(stats->frozen_time_us == 93406);
  CHECK(stats->memdump_time_us == 549);
  CHECK(stats->memwrite_time_us == 104);
  CHECK(stats->pages_scanned == 24);
  CHECK(stats->pages_written == 17);
}

TEST_CASE("damaged stats-dump images are rejected, not misread") {
  CHECK_FALSE(parse_stats_dump("").has_value());
  CHECK_FALSE(parse_stats_dump(stats_dump().substr(0, 20)).has_value());
  std::string wrong_field = stats_dump();
  wrong_field[12] = 0x12;  // field 2 instead of 1
  CHECK_FALSE(parse_stats_dump(wrong_field).has_value());
}

}  // namespace
}  // namespace wscp::podman
