#include "agent/operations/step_clock.h"

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using namespace wscp;
using namespace wscp::agent::operations;
using metrics::Direction;
using metrics::Step;
using Durations = std::map<Step, std::chrono::milliseconds>;

namespace {

struct Timeline {
  StepClock clock;
  StepClock::Clock::time_point t0 = StepClock::Clock::now();
  void at(std::chrono::milliseconds t, const std::string& stage, std::uint64_t bytes = 0) {
    clock.record(Progress{stage, bytes, std::nullopt, 0}, t0 + t);
  }
  Durations until(std::chrono::milliseconds t) const { return clock.durations(t0 + t); }
};

}  // namespace

TEST_CASE("step clock: a checkpoint's dump lasts until the archive's first byte, its upload until the last segment is stored") {
  Timeline t;
  t.at(0ms, "checkpoint");  // the freeze request
  t.at(2000ms, "upload", 1000);  // Podman's first archive byte
  t.at(2500ms, "upload", 5000);
  t.at(4000ms, "upload", 8500);
  t.at(4100ms, "checkpoint", 9000);  // Podman's answer ended
  t.at(4400ms, "upload", 9000);      // the writer closed: the last segments are stored
  auto d = t.until(4600ms);          // the seal's time after it is no step's
  CHECK(d == Durations{{Step::kDump, 2000ms}, {Step::kUpload, 2400ms}});
  CHECK(t.clock.bytes(Direction::kUpload) == 9000);  // once, though Podman's end came between
  CHECK(t.clock.bytes(Direction::kDownload) == 0);
  CHECK(step_durations_ms(d) == std::map<std::string, std::int64_t>{{"dump", 2000}, {"upload", 2400}});
}

TEST_CASE("step clock: a project's containers add up, each dump to the dump and each upload to the upload") {
  Timeline t;
  t.at(0ms, "image upload", 0);
  t.at(300ms, "image upload", 4000);
  t.at(500ms, "checkpoint");
  t.at(1500ms, "upload", 700);
  t.at(2500ms, "upload", 800);
  t.at(2600ms, "checkpoint", 800);  // the first container's archive is whole
  t.at(2650ms, "upload", 800);
  t.at(2650ms, "checkpoint", 0);  // the second's freeze request
  t.at(5650ms, "upload", 50);     // its dump took 3 s
  t.at(6650ms, "upload", 300);
  t.at(6700ms, "checkpoint", 300);
  t.at(6750ms, "upload", 300);
  CHECK(t.until(7000ms) == Durations{{Step::kDump, 1000ms + 3000ms},
                                     {Step::kUpload, 500ms + 1100ms + 50ms + 1100ms}});
  CHECK(t.clock.bytes(Direction::kUpload) == 4000 + 800 + 300);
}

TEST_CASE("step clock: a restore loads its image, streams the archive into Podman, CRIU restores once the end is in, "
          "then it settles") {
  Timeline t;
  t.at(0ms, "download", 0);  // the image
  t.at(400ms, "download", 2000);
  t.at(500ms, "download", 0);  // the archive asked for (a cut-through restore may wait here)
  t.at(600ms, "restore");      // the import request
  t.at(700ms, "download", 100);
  t.at(3700ms, "download", 8000);
  t.at(3700ms, "restore", 8000);  // Podman has the end: CRIU restores
  t.at(5700ms, "settle", 8000);
  auto d = t.until(6700ms);
  CHECK(d == Durations{{Step::kDownload, 500ms + 100ms + 3000ms}, {Step::kRestore, 100ms + 2000ms},
                       {Step::kSettle, 1000ms}});
  CHECK(t.clock.bytes(Direction::kDownload) == 2000 + 8000);
}

TEST_CASE("step clock: a stage of no step counts for none; nothing reported, nothing measured; reports pass through") {
  Timeline t;
  t.at(0ms, "restore");
  t.at(1000ms, "awaiting-podman", 10);  // Podman restores past the call's end
  t.at(3000ms, "settle");
  t.at(3500ms, "waiting for memory");
  CHECK(t.until(4000ms) == Durations{{Step::kRestore, 3000ms}, {Step::kSettle, 500ms}});

  StepClock clock;
  CHECK(clock.durations().empty());
  int passed = 0;
  auto fn = clock.tee([&](const Progress&) { ++passed; });
  fn(Progress{"checkpoint", 0, std::nullopt, 0});
  CHECK(passed == 1);
  CHECK(clock.durations().count(Step::kDump) == 1);
  CHECK(clock.tee(nullptr) != nullptr);
}
