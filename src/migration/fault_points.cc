#include "migration/fault_points.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "common/unique_fd.h"

namespace wscp::migration {
namespace {

bool parse_action(std::string_view word, FaultPoints::Action& out) {
  if (word == "kill") out = FaultPoints::Action::kKill;
  else if (word == "term") out = FaultPoints::Action::kTerm;
  else if (word == "exit") out = FaultPoints::Action::kExit;
  else if (word == "wait") out = FaultPoints::Action::kWait;
  else return false;
  return true;
}

void append_line(const std::string& path, std::string_view point) {
  if (path.empty()) return;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd.valid()) return;
  std::string line = std::string(point) + " " + std::to_string(::getpid()) + "\n";
  if (::write(fd.get(), line.data(), line.size()) < 0) return;
  ::fsync(fd.get());
}

// Polls for the go-ahead file; a test that never writes it gives up the
// process's pause after ten minutes rather than hanging a run for ever.
void wait_for_go(const std::string& log_path, std::string_view point) {
  if (log_path.empty()) {
    std::cerr << "wscp: fault point " << point << "=wait needs WSCP_FAULT_LOG; not waiting\n";
    return;
  }
  const std::filesystem::path go = log_path + "." + std::string(point) + ".go";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  std::error_code ec;
  while (!std::filesystem::exists(go, ec) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

FaultPoints FaultPoints::parse(std::string_view spec, std::string log_path) {
  FaultPoints f;
  f.log_path_ = std::move(log_path);
  while (!spec.empty()) {
    std::size_t comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    if (item.empty()) continue;
    std::size_t eq = item.find('=');
    Action action{};
    if (eq == std::string_view::npos || eq == 0 || !parse_action(item.substr(eq + 1), action)) {
      std::cerr << "wscp: ignoring malformed fault point '" << item << "' (expected NAME=kill|term|exit|wait)\n";
      continue;
    }
    f.actions_[std::string(item.substr(0, eq))] = action;
  }
  return f;
}

FaultPoints FaultPoints::from_environment() {
  const char* spec = std::getenv("WSCP_FAULT");
  const char* log = std::getenv("WSCP_FAULT_LOG");
  return parse(spec ? spec : "", log ? log : "");
}

void FaultPoints::reach(std::string_view point) const {
  auto it = actions_.find(std::string(point));
  if (it == actions_.end()) return;
  append_line(log_path_, point);
  switch (it->second) {
    case Action::kKill: ::kill(::getpid(), SIGKILL); break;
    case Action::kTerm: ::kill(::getpid(), SIGTERM); break;
    case Action::kExit: std::_Exit(99);
    case Action::kWait: wait_for_go(log_path_, point); break;
  }
}

}  // namespace wscp::migration
