#include "kube/token_source.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "common/fake_clock.h"
#include "temp_dir.h"

using namespace wscp;
using namespace wscp::kube;
using wscp::kube::testing::TempDir;
using namespace std::chrono_literals;

TEST_CASE("token source: a fixed token") {
  TokenSource t("abc");
  CHECK(*t.token() == "abc");
  CHECK_FALSE(t.refreshable());
}

TEST_CASE("token source: a rotated file is read again when it changes") {
  TempDir dir;
  auto clock = std::make_shared<wscp::testing::FakeClock>();
  dir.write("token", "first\n");
  TokenSource t(dir.file("token"), clock);
  CHECK(*t.token() == "first");
  // Rotation the kubelet's way: a new file renamed over the old one.
  dir.write("token.new", "second-token\n");
  std::filesystem::rename(dir.file("token.new"), dir.file("token"));
  CHECK(*t.token() == "second-token");
}

TEST_CASE("token source: re-read at least every refresh interval, and after invalidate()") {
  TempDir dir;
  auto clock = std::make_shared<wscp::testing::FakeClock>();
  dir.write("token", "aaaa");
  TokenSource t(dir.file("token"), clock, 60s);
  CHECK(*t.token() == "aaaa");
  // Same size, and the modification time restored: looks unchanged.
  const auto mtime = std::filesystem::last_write_time(dir.file("token"));
  {
    std::ofstream out(dir.file("token"), std::ios::in | std::ios::out);
    out << "bbbb";
  }
  std::filesystem::last_write_time(dir.file("token"), mtime);
  CHECK(*t.token() == "aaaa");
  clock->sleep_for(61s);
  CHECK(*t.token() == "bbbb");

  {
    std::ofstream out(dir.file("token"), std::ios::in | std::ios::out);
    out << "cccc";
  }
  std::filesystem::last_write_time(dir.file("token"), mtime);
  CHECK(*t.token() == "bbbb");
  t.invalidate();
  CHECK(*t.token() == "cccc");
}

TEST_CASE("token source: errors name the file") {
  TempDir dir;
  auto clock = std::make_shared<wscp::testing::FakeClock>();
  TokenSource missing(dir.file("token"), clock);
  auto m = missing.token();
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().message().find(dir.file("token")) != std::string::npos);

  dir.write("empty", "\n");
  TokenSource empty(dir.file("empty"), clock);
  auto e = empty.token();
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().message().find("is empty") != std::string::npos);

  dir.write("two", "a\nb\n");
  TokenSource two(dir.file("two"), clock);
  REQUIRE_FALSE(two.token().ok());
}
