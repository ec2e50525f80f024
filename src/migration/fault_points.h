#pragma once

#include <map>
#include <string>
#include <string_view>

namespace wscp::migration {

// Named places where a test can make this process die, to prove that a
// crash at any step loses nothing. Switched on by the environment:
//
//   WSCP_FAULT="checkpoint.before-dump=kill,restore.before-import=term"
//   WSCP_FAULT_LOG=/path/to/file   each point reached is appended (fsynced)
//                                  before its action, so a test can assert
//                                  that the fault it asked for happened
//
// Actions: kill (SIGKILL: nothing runs after it), term (SIGTERM: what a node
// being reclaimed sends; the process's handler decides), exit (exit code 99),
// wait (pauses until the file "<WSCP_FAULT_LOG>.<point>.go" exists, at most
// ten minutes, so a test can break something outside the process, such as
// the store or the Podman socket, at exactly that step).
// With nothing configured a point costs one map lookup.
class FaultPoints {
 public:
  enum class Action { kKill, kTerm, kExit, kWait };

  FaultPoints() = default;
  // Reads WSCP_FAULT and WSCP_FAULT_LOG; a malformed WSCP_FAULT is reported
  // on stderr and ignored rather than guessed at.
  static FaultPoints from_environment();
  // "a=kill,b=wait": exposed for tests.
  static FaultPoints parse(std::string_view spec, std::string log_path);

  bool armed(std::string_view point) const { return actions_.contains(std::string(point)); }
  // Records the point and takes its action, if one is configured.
  void reach(std::string_view point) const;

 private:
  std::map<std::string, Action> actions_;
  std::string log_path_;
};

}  // namespace wscp::migration
