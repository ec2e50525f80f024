#include "agent/config/quantity.h"

#include <array>
#include <limits>
#include <utility>

namespace wscp::agent {
namespace {

// Reads the leading decimal digits of text; nullopt if none or on overflow.
std::optional<std::uint64_t> leading_number(std::string_view& text) {
  std::uint64_t value = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    const std::uint64_t digit = static_cast<std::uint64_t>(text[i] - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  if (i == 0) return std::nullopt;
  text.remove_prefix(i);
  return value;
}

bool multiply(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
  if (b != 0 && a > std::numeric_limits<std::uint64_t>::max() / b) return false;
  out = a * b;
  return true;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  // Longest unit names first, so "ms" is not read as "m" + "s".
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 4> kUnits = {
      {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}}};
  if (text.empty()) return std::nullopt;
  std::uint64_t total = 0;
  while (!text.empty()) {
    auto n = leading_number(text);
    if (!n) return std::nullopt;
    bool matched = false;
    for (const auto& [unit, factor] : kUnits) {
      if (text.starts_with(unit)) {
        std::uint64_t part = 0;
        if (!multiply(*n, factor, part) || total > std::numeric_limits<std::int64_t>::max() - part) return std::nullopt;
        total += part;
        text.remove_prefix(unit.size());
        matched = true;
        break;
      }
    }
    if (!matched) return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(total));
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 3'600'000 == 0 && ms != 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms != 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::optional<std::uint64_t> parse_byte_size(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 5> kUnits = {
      {{"B", 1}, {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}, {"TiB", 1ull << 40}}};
  auto n = leading_number(text);
  if (!n) return std::nullopt;
  if (text.empty()) return n;
  for (const auto& [unit, factor] : kUnits) {
    if (text == unit) {
      std::uint64_t bytes = 0;
      if (!multiply(*n, factor, bytes)) return std::nullopt;
      return bytes;
    }
  }
  return std::nullopt;
}

std::string format_byte_size(std::uint64_t bytes) {
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 4> kUnits = {
      {{"TiB", 1ull << 40}, {"GiB", 1ull << 30}, {"MiB", 1ull << 20}, {"KiB", 1ull << 10}}};
  for (const auto& [unit, factor] : kUnits) {
    if (bytes != 0 && bytes % factor == 0) return std::to_string(bytes / factor) + std::string(unit);
  }
  return std::to_string(bytes) + "B";
}

}  // namespace wscp::agent
