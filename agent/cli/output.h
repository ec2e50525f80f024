#pragma once

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "common/error.h"
#include "common/operation.h"

namespace wscp::agent {

// Exit codes of the one-shot verbs.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;    // nothing changed, or the workspace is back where it was
inline constexpr int kExitCritical = 3;  // the workspace is running nowhere (its archive is kept)

inline int report_error(const Error& e) {
  std::cerr << "wscp-agent: error: " << e.describe() << "\n";
  return kExitFailed;
}

// --output text|json, and --json as its shorthand: how a verb prints its result.
inline void add_output_options(CLI::App& cmd, bool& json, const std::string& what = "the result") {
  cmd.add_option_function<std::string>(
         "--output", [&json](const std::string& v) { json = v == "json"; },
         "How to print " + what + ": text (default; a progress bar on a terminal) or json")
      ->check(CLI::IsMember({"text", "json"}));
  cmd.add_flag("--json", json, "Same as --output json");
}

}  // namespace wscp::agent
