#include "agent/cli/progress_bar.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ostream>

namespace wscp::agent {

std::string human_bytes(double bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0) std::snprintf(buf, sizeof buf, "%.0f B", bytes);
  else std::snprintf(buf, sizeof buf, "%.1f %s", bytes, kUnits[unit]);
  return buf;
}

std::string progress_line(const Progress& p, std::size_t width) {
  char stage[16];
  std::snprintf(stage, sizeof stage, "%-10.10s", p.stage.c_str());
  const std::string rate = p.bytes_per_second > 0 ? "  " + human_bytes(p.bytes_per_second) + "/s" : "";
  if (!p.bytes_total || *p.bytes_total == 0) {
    return (std::string(stage) + " " + human_bytes(static_cast<double>(p.bytes_done)) + rate).substr(0, width);
  }
  const double fraction = std::min(1.0, static_cast<double>(p.bytes_done) / static_cast<double>(*p.bytes_total));
  char percent[8];
  std::snprintf(percent, sizeof percent, "%3d%%", static_cast<int>(fraction * 100));
  const std::string tail = std::string("  ") + percent + "  " + human_bytes(static_cast<double>(p.bytes_done)) +
                           " of " + human_bytes(static_cast<double>(*p.bytes_total)) + rate;
  const std::size_t fixed = 11 + 2 + tail.size();  // stage, space, brackets
  const std::size_t bar = width > fixed + 10 ? std::min<std::size_t>(width - fixed, 30) : 10;
  const auto filled = static_cast<std::size_t>(fraction * static_cast<double>(bar));
  std::string line = std::string(stage) + " [" + std::string(filled, '#') + std::string(bar - filled, '.') + "]" + tail;
  return line.substr(0, width);
}

ProgressDisplay::ProgressDisplay(std::ostream& out, bool terminal, std::size_t width,
                                 std::chrono::milliseconds redraw_every)
    : out_(out), terminal_(terminal), width_(width), redraw_every_(redraw_every) {}

ProgressDisplay::~ProgressDisplay() { finish(); }

ProgressFn ProgressDisplay::fn() {
  return [this](const Progress& p) { show(p); };
}

void ProgressDisplay::show(const Progress& p) {
  std::lock_guard lock(mu_);
  const bool new_stage = p.stage != stage_;
  stage_ = p.stage;
  if (!terminal_) {
    if (new_stage) out_ << "wscp-agent: " << p.stage << "...\n";
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (!new_stage && now - drawn_ < redraw_every_) return;
  if (new_stage && open_line_) out_ << "\n";
  // \r and clear-to-end-of-line redraw the line in place.
  out_ << "\r" << progress_line(p, width_) << "\x1b[K" << std::flush;
  drawn_ = now;
  open_line_ = true;
}

void ProgressDisplay::finish() {
  std::lock_guard lock(mu_);
  if (open_line_) out_ << "\n" << std::flush;
  open_line_ = false;
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

std::size_t terminal_width() {
  winsize ws{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
  return 80;
}

}  // namespace wscp::agent
