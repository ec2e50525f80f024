#include "log/stream_logger.h"

#include <cmath>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

namespace wscp::log {
namespace {

std::string timestamp(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

bool is_reserved(std::string_view key) { return key == "time" || key == "level" || key == "msg"; }

std::string json_quoted(std::string_view text) {
  return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A text value stays bare when it is a plain word; anything else is quoted
// with JSON escapes, so a line is always one line and splits unambiguously.
std::string text_value(const Field::Value& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    bool plain = !s->empty();
    for (unsigned char c : *s) {
      if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) plain = false;
    }
    return plain ? *s : json_quoted(*s);
  }
  if (const auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&value)) return nlohmann::json(*d).dump();
  return std::get<bool>(value) ? "true" : "false";
}

// The message stays readable but never breaks the line.
std::string text_message(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (char c : message) {
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else out += c;
  }
  return out;
}

nlohmann::ordered_json json_value(const Field::Value& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return *s;
  if (const auto* i = std::get_if<std::int64_t>(&value)) return *i;
  if (const auto* d = std::get_if<double>(&value)) {
    return std::isfinite(*d) ? nlohmann::ordered_json(*d) : nlohmann::ordered_json(nullptr);
  }
  return std::get<bool>(value);
}

class StreamLogger final : public Logger {
 public:
  StreamLogger(std::ostream& out, Format format, Level min_level, std::shared_ptr<Clock> clock)
      : out_(out), format_(format), min_level_(min_level), clock_(std::move(clock)) {}

  bool enabled(Level level) const override { return level >= min_level_; }

  void write(Level level, std::string_view message, std::span<const Field> fields) override {
    if (!enabled(level)) return;
    std::string line = format_ == Format::kJsonLines ? json_line(level, message, fields)
                                                     : text_line(level, message, fields);
    line += '\n';
    std::lock_guard lock(mutex_);
    out_.write(line.data(), static_cast<std::streamsize>(line.size()));
    out_.flush();
  }

 private:
  std::string text_line(Level level, std::string_view message, std::span<const Field> fields) const {
    std::string line = timestamp(clock_->wall_now());
    std::string_view name = to_string(level);
    line += ' ';
    line += name;
    line.append(name.size() < 7 ? 7 - name.size() : 0, ' ');
    line += ' ';
    line += text_message(message);
    for (const auto& f : fields) {
      line += ' ';
      if (is_reserved(f.key)) line += "field.";
      line += f.key;
      line += '=';
      line += text_value(f.value);
    }
    return line;
  }

  std::string json_line(Level level, std::string_view message, std::span<const Field> fields) const {
    nlohmann::ordered_json j;
    j["time"] = timestamp(clock_->wall_now());
    j["level"] = std::string(to_string(level));
    j["msg"] = std::string(message);
    for (const auto& f : fields) j[is_reserved(f.key) ? "field." + f.key : f.key] = json_value(f.value);
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  std::ostream& out_;
  const Format format_;
  const Level min_level_;
  std::shared_ptr<Clock> clock_;
  std::mutex mutex_;
};

}  // namespace

std::string_view to_string(Format format) { return format == Format::kJsonLines ? "json" : "text"; }

std::shared_ptr<Logger> make_stream_logger(std::ostream& out, Format format, Level min_level,
                                           std::shared_ptr<Clock> clock) {
  return std::make_shared<StreamLogger>(out, format, min_level, std::move(clock));
}

}  // namespace wscp::log
