#pragma once

#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace wscp {

// UTC timestamps: "20261123T114500Z" (ISO 8601 basic, as SigV4 and ids use)
// and "2026-11-23T11:45:00Z" (RFC 3339).
inline std::string utc_basic(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  return std::string(buf, std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm));
}

inline std::string utc_rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  return std::string(buf, std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm));
}

// Reads "2026-11-23T11:45:00Z" (whole seconds, UTC only, as utc_rfc3339
// writes); nullopt for anything else.
inline std::optional<std::chrono::system_clock::time_point> parse_utc_rfc3339(std::string_view text) {
  if (text.size() != 20 || text[19] != 'Z') return std::nullopt;
  std::tm tm{};
  std::string copy(text);
  const char* end = strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace wscp
