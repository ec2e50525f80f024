#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace wscp::log {

enum class Level { kDebug, kInfo, kWarning, kError };

std::string_view to_string(Level level);
// "debug", "info", "warning" (or "warn"), "error"; nullopt for anything else.
std::optional<Level> parse_level(std::string_view text);

// One key=value of a log line. Values keep their type so that JSON lines
// carry numbers and booleans as such.
struct Field {
  using Value = std::variant<std::string, std::int64_t, double, bool>;

  Field(std::string k, std::string v) : key(std::move(k)), value(std::move(v)) {}
  Field(std::string k, std::string_view v) : key(std::move(k)), value(std::string(v)) {}
  Field(std::string k, const char* v) : key(std::move(k)), value(std::string(v)) {}
  Field(std::string k, bool v) : key(std::move(k)), value(v) {}
  template <typename T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
  Field(std::string k, T v) : key(std::move(k)), value(static_cast<std::int64_t>(v)) {}
  template <typename T>
    requires std::is_floating_point_v<T>
  Field(std::string k, T v) : key(std::move(k)), value(static_cast<double>(v)) {}

  std::string key;
  Value value;
};

// Where log lines go. Implementations are safe to call from several threads
// at once and write each line whole.
class Logger {
 public:
  virtual ~Logger() = default;

  virtual bool enabled(Level level) const = 0;
  virtual void write(Level level, std::string_view message, std::span<const Field> fields) = 0;

  void debug(std::string_view message, std::initializer_list<Field> fields = {}) {
    log(Level::kDebug, message, fields);
  }
  void info(std::string_view message, std::initializer_list<Field> fields = {}) {
    log(Level::kInfo, message, fields);
  }
  void warning(std::string_view message, std::initializer_list<Field> fields = {}) {
    log(Level::kWarning, message, fields);
  }
  void error(std::string_view message, std::initializer_list<Field> fields = {}) {
    log(Level::kError, message, fields);
  }

 private:
  void log(Level level, std::string_view message, std::initializer_list<Field> fields) {
    if (enabled(level)) write(level, message, std::span<const Field>(fields.begin(), fields.size()));
  }
};

// A logger that adds the same fields to every line of another, e.g. the
// operation id for everything one operation logs.
std::shared_ptr<Logger> with_fields(std::shared_ptr<Logger> parent, std::vector<Field> fields);
// Every line carries "op" = operation_id.
std::shared_ptr<Logger> with_operation(std::shared_ptr<Logger> parent, std::string operation_id);

// Discards everything (for code that is given no logger).
std::shared_ptr<Logger> null_logger();

}  // namespace wscp::log
