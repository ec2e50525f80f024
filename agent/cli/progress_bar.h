#pragma once

#include <chrono>
#include <iosfwd>
#include <mutex>
#include <string>

#include "common/operation.h"

namespace wscp::agent {

// One line of a terminal progress bar, `width` columns at most:
//   "upload     [#########.........]  45%  120.0 MiB of 266.7 MiB  80.2 MiB/s"
// or, with no known total, "upload     120.0 MiB  80.2 MiB/s".
std::string progress_line(const Progress& p, std::size_t width);

// "512 B", "1.5 KiB", "120.0 MiB", "2.3 GiB".
std::string human_bytes(double bytes);

// How a verb shows its progress on stderr: on a terminal a bar redrawn in
// place (at most every 100 ms; a stage change starts a new line); elsewhere
// (a log, a pipe) one line per stage. finish() ends an open bar's line, so
// what is printed next starts on its own; the destructor calls it.
class ProgressDisplay {
 public:
  ProgressDisplay(std::ostream& out, bool terminal, std::size_t width = 80,
                  std::chrono::milliseconds redraw_every = std::chrono::milliseconds(100));
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  // What the operation reports to; valid while this display lives.
  ProgressFn fn();
  void finish();

 private:
  void show(const Progress& p);

  std::ostream& out_;
  bool terminal_;
  std::size_t width_;
  std::chrono::milliseconds redraw_every_;
  std::mutex mu_;
  std::string stage_;
  std::chrono::steady_clock::time_point drawn_{};
  bool open_line_ = false;
};

// Whether stderr is a terminal, and its width (80 when unknown).
bool stderr_is_terminal();
std::size_t terminal_width();

}  // namespace wscp::agent
