#include "agent/cli/progress_bar.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <sstream>

using namespace wscp;
using namespace wscp::agent;

TEST_CASE("progress bar: sizes read as people read them") {
  CHECK(human_bytes(0) == "0 B");
  CHECK(human_bytes(1023) == "1023 B");
  CHECK(human_bytes(1536) == "1.5 KiB");
  CHECK(human_bytes(120.0 * 1024 * 1024) == "120.0 MiB");
  CHECK(human_bytes(2.5 * 1024 * 1024 * 1024) == "2.5 GiB");
}

TEST_CASE("progress bar: a known total draws a bar and a percentage within the width") {
  Progress p{"upload", 128ull << 20, 256ull << 20, 80.0 * 1024 * 1024};
  const std::string line = progress_line(p, 80);
  CHECK(line.size() <= 80);
  CHECK(line.starts_with("upload     ["));
  CHECK(line.find(" 50%") != std::string::npos);
  CHECK(line.find("128.0 MiB of 256.0 MiB") != std::string::npos);
  CHECK(line.find("80.0 MiB/s") != std::string::npos);
  const auto hashes = std::count(line.begin(), line.end(), '#');
  const auto dots = std::count(line.begin(), line.end(), '.') - 3;  // three decimal points
  CHECK(std::abs(hashes - dots) <= 1);  // half full
  CHECK(progress_line(p, 40).size() <= 40);
  Progress over{"upload", 300, 200, 0};  // never more than full
  CHECK(progress_line(over, 80).find("100%") != std::string::npos);
}

TEST_CASE("progress bar: without a total, the bytes so far") {
  Progress p{"dump", 5ull << 20, std::nullopt, 0};
  CHECK(progress_line(p, 80) == "dump       5.0 MiB");
}

TEST_CASE("progress bar: elsewhere than a terminal, one line per stage; on one, redrawn then ended") {
  std::ostringstream log;
  {
    ProgressDisplay d(log, false);
    auto fn = d.fn();
    fn({"checkpoint", 0, std::nullopt, 0});
    fn({"checkpoint", 10, std::nullopt, 0});
    fn({"upload", 10, 20, 0});
  }
  CHECK(log.str() == "wscp-agent: checkpoint...\nwscp-agent: upload...\n");

  std::ostringstream tty;
  ProgressDisplay d(tty, true, 80, std::chrono::hours(1));
  auto fn = d.fn();
  fn({"upload", 1, 4, 0});
  fn({"upload", 2, 4, 0});  // within the redraw interval: skipped
  fn({"restore", 4, 4, 0});
  d.finish();
  const std::string out = tty.str();
  CHECK(out.starts_with("\rupload"));
  CHECK(out.find(" 50%") == std::string::npos);
  CHECK(out.find("\n\rrestore") != std::string::npos);  // a new stage on a new line
  CHECK(out.ends_with("\x1b[K\n"));
}
