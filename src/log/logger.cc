#include "log/logger.h"

namespace wscp::log {
namespace {

class FieldsLogger final : public Logger {
 public:
  FieldsLogger(std::shared_ptr<Logger> parent, std::vector<Field> fields)
      : parent_(std::move(parent)), fields_(std::move(fields)) {}

  bool enabled(Level level) const override { return parent_->enabled(level); }

  void write(Level level, std::string_view message, std::span<const Field> fields) override {
    std::vector<Field> all;
    all.reserve(fields.size() + fields_.size());
    all.insert(all.end(), fields.begin(), fields.end());
    all.insert(all.end(), fields_.begin(), fields_.end());
    parent_->write(level, message, all);
  }

 private:
  std::shared_ptr<Logger> parent_;
  std::vector<Field> fields_;
};

class NullLogger final : public Logger {
 public:
  bool enabled(Level) const override { return false; }
  void write(Level, std::string_view, std::span<const Field>) override {}
};

}  // namespace

std::string_view to_string(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarning: return "warning";
    case Level::kError: return "error";
  }
  return "info";
}

std::optional<Level> parse_level(std::string_view text) {
  if (text == "debug") return Level::kDebug;
  if (text == "info") return Level::kInfo;
  if (text == "warning" || text == "warn") return Level::kWarning;
  if (text == "error") return Level::kError;
  return std::nullopt;
}

std::shared_ptr<Logger> with_fields(std::shared_ptr<Logger> parent, std::vector<Field> fields) {
  return std::make_shared<FieldsLogger>(std::move(parent), std::move(fields));
}

std::shared_ptr<Logger> with_operation(std::shared_ptr<Logger> parent, std::string operation_id) {
  return with_fields(std::move(parent), {Field("op", std::move(operation_id))});
}

std::shared_ptr<Logger> null_logger() {
  static auto logger = std::make_shared<NullLogger>();
  return logger;
}

}  // namespace wscp::log
