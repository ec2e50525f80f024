#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace wscp::store {

// A plain decimal number (digits only: no sign, space, suffix or exponent)
// that fits in 64 bits and is at most `max`; nullopt otherwise. For numbers
// read from servers and files, which must never throw or wrap.
inline std::optional<std::uint64_t> parse_decimal(std::string_view text, std::uint64_t max = UINT64_MAX) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
  if (ec != std::errc() || end != text.data() + text.size() || value > max) return std::nullopt;
  if (text.front() < '0' || text.front() > '9') return std::nullopt;
  return value;
}

}  // namespace wscp::store
