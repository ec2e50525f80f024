#include "kube/micro_time.h"

#include <doctest/doctest.h>

using namespace wscp::kube;
using namespace std::chrono;

TEST_CASE("micro time: RFC 3339 in UTC with exactly six fraction digits") {
  CHECK(format_micro_time(system_clock::time_point(seconds(1'700'000'000) + microseconds(123'456))) ==
        "2023-11-14T22:13:20.123456Z");
  CHECK(format_micro_time(system_clock::time_point(seconds(1'700'000'000) + microseconds(7))) ==
        "2023-11-14T22:13:20.000007Z");
  CHECK(format_micro_time(system_clock::time_point(seconds(0))) == "1970-01-01T00:00:00.000000Z");
  // Below a microsecond is dropped, never rounded up into the next second.
  CHECK(format_micro_time(system_clock::time_point(seconds(59) + nanoseconds(999'999'999))) ==
        "1970-01-01T00:00:59.999999Z");
}
