#pragma once

#include <memory>
#include <ostream>
#include <string>

#include "common/clock.h"
#include "log/logger.h"

namespace wscp::log {

enum class Format {
  kText,       // 2026-11-23T11:45:00.123Z info  message key=value op=abc
  kJsonLines,  // {"time":"2026-11-23T11:45:00.123Z","level":"info","msg":"message","key":"value","op":"abc"}
};

std::string_view to_string(Format format);

// Writes lines to a stream (stderr in the daemon), one whole line per call,
// flushed, under a lock. Lines below min_level are dropped. Field keys that
// clash with the line's own ("time", "level", "msg") get a "field." prefix.
std::shared_ptr<Logger> make_stream_logger(std::ostream& out, Format format, Level min_level,
                                           std::shared_ptr<Clock> clock);

}  // namespace wscp::log
