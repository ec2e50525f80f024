#include "agent/operations/step_clock.h"

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using namespace wscp;
using namespace wscp::agent::operations;
using metrics::Direction;
using metrics::Step;

namespace {

struct Timeline {
  StepClock clock;
  StepClock::Clock::time_point t0 = StepClock::Clock::now();
  void at(std::chrono::milliseconds t, const std::string& stage, std::uint64_t bytes = 0) {
    clock.record(Progress{stage, bytes, std::nullopt, 0}, t0 + t);
  }
};

}  // namespace

TEST_CASE("step clock: a checkpoint's dump lasts until the archive's first byte, its upload to the last") {
  Timeline t;
  t.at(0ms, "plan");
  t.at(100ms, "checkpoint");
  t.at(2100ms, "upload", 1000);
  t.at(2600ms, "upload", 5000);
  t.at(4100ms, "upload", 9000);
  t.at(4200ms, "checkpoint", 9000);
  auto d = t.clock.durations(t.t0 + 4300ms);
  CHECK(d == std::map<Step, std::chrono::milliseconds>{{Step::kDump, 2000ms}, {Step::kUpload, 2000ms}});
  CHECK(t.clock.bytes(Direction::kUpload) == 9000);
  CHECK(t.clock.bytes(Direction::kDownload) == 0);
  CHECK(step_durations_ms(d) == std::map<std::string, std::int64_t>{{"dump", 2000}, {"upload", 2000}});
}

TEST_CASE("step clock: a restore's download, Podman's restore until it settles, and the settling to the end") {
  Timeline t;
  t.at(0ms, "download", 0);
  t.at(300ms, "restore");  // cut through: Podman's import begins while the download runs
  t.at(3000ms, "download", 8000);
  t.at(5000ms, "settle", 8000);
  auto d = t.clock.durations(t.t0 + 6000ms);
  CHECK(d == std::map<Step, std::chrono::milliseconds>{
                 {Step::kDownload, 3000ms}, {Step::kRestore, 4700ms}, {Step::kSettle, 1000ms}});
  CHECK(t.clock.bytes(Direction::kDownload) == 8000);
}

TEST_CASE("step clock: a stage that starts again from zero adds its bytes (a project's next container, an image)") {
  Timeline t;
  t.at(0ms, "checkpoint");
  t.at(10ms, "upload", 100);
  t.at(20ms, "upload", 700);
  t.at(30ms, "upload", 50);  // the next container's archive
  t.at(40ms, "upload", 300);
  t.at(50ms, "image upload", 2000);
  CHECK(t.clock.bytes(Direction::kUpload) == 3000);
}

TEST_CASE("step clock: nothing reported, nothing measured; reports pass through the tee") {
  StepClock clock;
  CHECK(clock.durations().empty());
  int passed = 0;
  auto fn = clock.tee([&](const Progress&) { ++passed; });
  fn(Progress{"checkpoint", 0, std::nullopt, 0});
  CHECK(passed == 1);
  CHECK(clock.durations().count(Step::kDump) == 1);
  CHECK(clock.tee(nullptr) != nullptr);
}
