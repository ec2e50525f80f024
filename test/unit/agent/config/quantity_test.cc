#include "agent/config/quantity.h"

#include <doctest/doctest.h>

using namespace wscp::agent;
using std::chrono::milliseconds;

TEST_CASE("durations need a unit and may be sequences") {
  CHECK(parse_duration("500ms") == milliseconds(500));
  CHECK(parse_duration("5s") == milliseconds(5000));
  CHECK(parse_duration("2m") == milliseconds(120'000));
  CHECK(parse_duration("1h") == milliseconds(3'600'000));
  CHECK(parse_duration("1m30s") == milliseconds(90'000));
  CHECK(parse_duration("0s") == milliseconds(0));
  for (const char* bad : {"", "5", "s", "5 s", "-5s", "5sec", "1.5s", "5S", "5s ", "99999999999999999999s",
                          "9223372036854775807h"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_duration(bad));
  }
}

TEST_CASE("durations are shown in the largest whole unit") {
  CHECK(format_duration(milliseconds(5000)) == "5s");
  CHECK(format_duration(milliseconds(120'000)) == "2m");
  CHECK(format_duration(milliseconds(1500)) == "1500ms");
  CHECK(format_duration(milliseconds(0)) == "0s");
}

TEST_CASE("sizes are bytes or binary units") {
  CHECK(parse_byte_size("1048576") == 1048576u);
  CHECK(parse_byte_size("512KiB") == 512u * 1024);
  CHECK(parse_byte_size("64MiB") == 64ull << 20);
  CHECK(parse_byte_size("1GiB") == 1ull << 30);
  CHECK(parse_byte_size("2TiB") == 2ull << 40);
  CHECK(parse_byte_size("10B") == 10u);
  for (const char* bad : {"", "MiB", "1MB", "1 MiB", "1.5GiB", "-1", "1mib", "99999999999TiB"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_byte_size(bad));
  }
  CHECK(format_byte_size(64ull << 20) == "64MiB");
  CHECK(format_byte_size(1000) == "1000B");
}
