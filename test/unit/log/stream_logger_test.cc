#include "log/stream_logger.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/fake_clock.h"

using namespace wscp;

namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("text lines carry the time, the level, the message and key=value fields") {
  std::ostringstream out;
  auto clock = std::make_shared<testing::FakeClock>();
  clock->sleep_for(std::chrono::milliseconds(1'700'000'000'123));
  auto logger = log::make_stream_logger(out, log::Format::kText, log::Level::kInfo, clock);
  logger->info("notice seen", {{"provider", "aws"}, {"count", 3}, {"ok", true}, {"ratio", 0.5}});
  auto l = lines(out.str());
  REQUIRE(l.size() == 1);
  CHECK(l[0] == "2023-11-14T22:13:20.123Z info    notice seen provider=aws count=3 ok=true ratio=0.5");
}

TEST_CASE("text values with spaces, quotes or newlines are quoted; messages never break the line") {
  std::ostringstream out;
  auto logger = log::make_stream_logger(out, log::Format::kText, log::Level::kDebug, system_clock());
  logger->warning("two\nlines", {{"error", "it said \"no\"\nthen left"}, {"empty", ""}});
  auto l = lines(out.str());
  REQUIRE(l.size() == 1);
  CHECK(l[0].find(R"(two\nlines)") != std::string::npos);
  CHECK(l[0].find(R"(error="it said \"no\"\nthen left")") != std::string::npos);
  CHECK(l[0].find(R"(empty="")") != std::string::npos);
}

TEST_CASE("JSON lines are one object per line with typed fields") {
  std::ostringstream out;
  auto logger = log::make_stream_logger(out, log::Format::kJsonLines, log::Level::kInfo, system_clock());
  logger->error("upload failed", {{"bytes", 42}, {"retry", false}, {"msg", "clash"}, {"bad", std::string("\xff")}});
  auto l = lines(out.str());
  REQUIRE(l.size() == 1);
  auto j = nlohmann::json::parse(l[0]);
  CHECK(j["level"] == "error");
  CHECK(j["msg"] == "upload failed");
  CHECK(j["bytes"] == 42);
  CHECK(j["retry"] == false);
  CHECK(j["field.msg"] == "clash");  // a field never overwrites the line's own keys
  CHECK(j["bad"].get<std::string>() == "\xEF\xBF\xBD");  // invalid UTF-8 replaced, never an exception
  CHECK(j["time"].get<std::string>().size() == 24);
}

TEST_CASE("every line of an operation's logger carries its id") {
  std::ostringstream out;
  auto base = log::make_stream_logger(out, log::Format::kJsonLines, log::Level::kInfo, system_clock());
  auto op = log::with_operation(base, "op-123");
  op->info("freezing", {{"container", "web"}});
  op->warning("slow upload");
  base->info("unrelated");
  auto l = lines(out.str());
  REQUIRE(l.size() == 3);
  CHECK(nlohmann::json::parse(l[0])["op"] == "op-123");
  CHECK(nlohmann::json::parse(l[0])["container"] == "web");
  CHECK(nlohmann::json::parse(l[1])["op"] == "op-123");
  CHECK_FALSE(nlohmann::json::parse(l[2]).contains("op"));
}

TEST_CASE("lines below the minimum level are dropped") {
  std::ostringstream out;
  auto logger = log::make_stream_logger(out, log::Format::kText, log::Level::kWarning, system_clock());
  logger->debug("no");
  logger->info("no");
  logger->warning("yes");
  logger->error("yes");
  CHECK(lines(out.str()).size() == 2);
  CHECK_FALSE(logger->enabled(log::Level::kInfo));
}

TEST_CASE("lines written from several threads never interleave") {
  std::ostringstream out;
  auto logger = log::make_stream_logger(out, log::Format::kJsonLines, log::Level::kInfo, system_clock());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) logger->info("line", {{"thread", t}, {"i", i}, {"pad", std::string(100, 'x')}});
    });
  }
  for (auto& t : threads) t.join();
  auto l = lines(out.str());
  REQUIRE(l.size() == 800);
  for (const auto& line : l) CHECK(nlohmann::json::accept(line));
}

TEST_CASE("levels parse from their names only") {
  CHECK(log::parse_level("debug") == log::Level::kDebug);
  CHECK(log::parse_level("warn") == log::Level::kWarning);
  CHECK(log::parse_level("error") == log::Level::kError);
  CHECK_FALSE(log::parse_level("loud"));
  CHECK_FALSE(log::parse_level("INFO"));
}
