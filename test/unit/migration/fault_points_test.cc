#include "migration/fault_points.h"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace wscp::migration {
namespace {

// Runs reach(point) in a child process; returns its wait status.
int reach_in_child(const FaultPoints& faults, const char* point) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::signal(SIGTERM, SIG_DFL);  // the test framework's crash handler is inherited
    faults.reach(point);
    std::_Exit(0);  // not armed: the child carries on
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("fault points parse their specification and ignore malformed items") {
  FaultPoints f = FaultPoints::parse("a.before=kill,,b=term,c=exit,bad,d=explode", "");
  CHECK(f.armed("a.before"));
  CHECK(f.armed("b"));
  CHECK(f.armed("c"));
  CHECK_FALSE(f.armed("bad"));
  CHECK_FALSE(f.armed("d"));
  CHECK_FALSE(FaultPoints{}.armed("a.before"));
}

TEST_CASE("a fault point records itself, then takes its action") {
  const auto log = std::filesystem::temp_directory_path() / ("wscp-faults-" + std::to_string(::getpid()));
  std::filesystem::remove(log);
  FaultPoints f = FaultPoints::parse("p.kill=kill,p.term=term,p.exit=exit", log.string());

  int status = reach_in_child(f, "p.kill");
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  status = reach_in_child(f, "p.term");
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGTERM);
  status = reach_in_child(f, "p.exit");
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 99);
  status = reach_in_child(f, "p.elsewhere");
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  const std::string text = read_file(log);
  CHECK(text.find("p.kill ") != std::string::npos);
  CHECK(text.find("p.term ") != std::string::npos);
  CHECK(text.find("p.exit ") != std::string::npos);
  CHECK(text.find("p.elsewhere") == std::string::npos);
  std::filesystem::remove(log);
}

TEST_CASE("a wait point pauses the process until its go-ahead file appears") {
  const auto log = std::filesystem::temp_directory_path() / ("wscp-wait-" + std::to_string(::getpid()));
  const auto go = std::filesystem::path(log.string() + ".p.wait.go");
  std::filesystem::remove(log);
  std::filesystem::remove(go);
  FaultPoints f = FaultPoints::parse("p.wait=wait", log.string());
  pid_t pid = ::fork();
  if (pid == 0) {
    f.reach("p.wait");
    std::_Exit(7);
  }
  // Recorded, then paused: still running after the line appeared.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (read_file(log).find("p.wait ") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(read_file(log).find("p.wait ") != std::string::npos);
  int status = 0;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(::waitpid(pid, &status, WNOHANG) == 0);
  std::ofstream(go).put('\n');
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 7);
  std::filesystem::remove(log);
  std::filesystem::remove(go);
}

}  // namespace wscp::migration
