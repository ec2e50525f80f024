#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace wscp::agent::notices {

// The timestamps metadata services send, read strictly (nullopt for
// anything else, never an exception):
//  - RFC 3339 in UTC, as IMDS writes them: "2026-11-23T09:41:00Z", with
//    optional fractional seconds "2026-11-23T09:41:00.123Z";
//  - RFC 1123 HTTP dates, as Scheduled Events' NotBefore: "Mon, 19 Sep 2016 18:29:47 GMT".
std::optional<std::chrono::system_clock::time_point> parse_rfc3339_utc(std::string_view text);
std::optional<std::chrono::system_clock::time_point> parse_rfc1123(std::string_view text);

}  // namespace wscp::agent::notices
