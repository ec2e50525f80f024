#include "agent/cli/stage_timeline.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace wscp;
using namespace wscp::agent;
using namespace std::chrono_literals;

TEST_CASE("a stage timeline keeps each stage's first and last report") {
  const auto t0 = StageTimeline::Clock::now();
  StageTimeline timeline(t0);
  timeline.record({"checkpoint", 0, std::nullopt, 0}, t0 + 100ms);
  timeline.record({"upload", 10, std::nullopt, 0}, t0 + 250ms);
  timeline.record({"upload", 20, std::nullopt, 0}, t0 + 900ms);
  timeline.record({"checkpoint", 30, 30, 0}, t0 + 1000ms);
  auto j = timeline.to_json();
  CHECK(j["checkpoint"]["firstMs"] == 100);
  CHECK(j["checkpoint"]["lastMs"] == 1000);
  CHECK(j["upload"]["firstMs"] == 250);
  CHECK(j["upload"]["lastMs"] == 900);
  CHECK(j.size() == 3);
  const auto wall_now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(j["startedAtMs"].get<long long>() <= wall_now);
  CHECK(j["startedAtMs"].get<long long>() > wall_now - 60'000);
}

TEST_CASE("a stage timeline passes reports on and takes them from two threads") {
  StageTimeline timeline;
  std::atomic<int> passed{0};
  auto fn = timeline.tee([&](const Progress&) { ++passed; });
  std::vector<std::thread> legs;
  for (const char* stage : {"upload", "download"}) {
    legs.emplace_back([&fn, stage] {
      for (int i = 0; i < 1000; ++i) fn({stage, static_cast<std::uint64_t>(i), std::nullopt, 0});
    });
  }
  for (auto& t : legs) t.join();
  CHECK(passed == 2000);
  auto j = timeline.to_json();
  CHECK(j.contains("upload"));
  CHECK(j.contains("download"));
}
