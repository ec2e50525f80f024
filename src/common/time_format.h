#pragma once

#include <chrono>
#include <ctime>
#include <string>

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

}  // namespace wscp
