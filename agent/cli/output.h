#pragma once

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

// Progress lines on stderr, one per stage change.
inline ProgressFn stderr_progress() {
  return [last = std::string()](const Progress& p) mutable {
    if (p.stage != last) {
      std::cerr << "wscp-agent: " << p.stage << "...\n";
      last = p.stage;
    }
  };
}

}  // namespace wscp::agent
