#pragma once

#include <string>
#include <vector>

namespace wscp::testing {

// One run of the wscp-agent binary (WSCP_AGENT) as its own process, the way
// a node runs it: argv, extra environment, and how it ended.
struct AgentRun {
  int exit_code = -1;    // when it exited
  int signal = 0;        // when a signal ended it
  std::string output;    // stdout and stderr together
};

AgentRun run_agent(const std::vector<std::string>& args, const std::vector<std::string>& env = {});

}  // namespace wscp::testing
