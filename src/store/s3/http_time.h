#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace wscp::store::s3 {

// The timestamps S3 sends, read strictly (nullopt for anything else, never
// an exception):
//  - HTTP dates (Date, Last-Modified): "Sun, 06 Nov 1994 08:49:37 GMT";
//  - ISO 8601 in XML answers (LastModified, Initiated):
//    "2026-11-23T09:41:00.000Z" or "2026-11-23T09:41:00Z".
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text);
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

}  // namespace wscp::store::s3
