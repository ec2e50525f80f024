#include "agent/notices/metadata_time.h"

#include <doctest/doctest.h>

#include "common/time_format.h"

using namespace wscp;
using namespace wscp::agent::notices;

TEST_CASE("RFC 3339 UTC times, with or without fractions") {
  auto t = parse_rfc3339_utc("2026-11-23T09:41:07Z");
  REQUIRE(t);
  CHECK(utc_rfc3339(*t) == "2026-11-23T09:41:07Z");
  auto f = parse_rfc3339_utc("2026-11-23T09:41:07.250Z");
  REQUIRE(f);
  CHECK(*f - *t == std::chrono::milliseconds(250));
  CHECK(parse_rfc3339_utc("2024-02-29T00:00:00Z"));
  for (const char* bad : {"", "2026-11-23", "2026-11-23T09:41:07", "2026-11-23T09:41:07+01:00", "2026-13-01T00:00:00Z",
                          "2026-02-29T00:00:00Z", "2026-11-23T24:00:00Z", "2026-11-23T09:41:07.Z",
                          "2026-11-23T09:41:07.1234567890Z", "2026-11-23 09:41:07Z", "garbage-at-allZ!!!!!!",
                          "2026-11-23T09:41:07ZZ"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_rfc3339_utc(bad));
  }
}

TEST_CASE("RFC 1123 dates as Scheduled Events send NotBefore") {
  auto t = parse_rfc1123("Mon, 19 Sep 2016 18:29:47 GMT");
  REQUIRE(t);
  CHECK(utc_rfc3339(*t) == "2016-09-19T18:29:47Z");
  for (const char* bad : {"", "Mon, 19 Sep 2016 18:29:47", "Mon, 19 Sep 2016 18:29:47 UTC", "Xyz, 19 Sep 2016 18:29:47 GMT",
                          "Mon, 19 Foo 2016 18:29:47 GMT", "Mon, 31 Sep 2016 18:29:47 GMT", "Mon, 9 Sep 2016 18:29:47 GMT",
                          "2016-09-19T18:29:47Z"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_rfc1123(bad));
  }
}
