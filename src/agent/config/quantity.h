#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wscp::agent {

// "500ms", "5s", "2m", "1h", or a sequence such as "1m30s". A unit is
// required (a bare "5" is refused: seconds or milliseconds?). nullopt for
// anything else, including overflow.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::string format_duration(std::chrono::milliseconds d);

// "1048576", "512KiB", "64MiB", "1GiB", "1TiB" (binary units only; a
// decimal "MB" is refused rather than guessed). nullopt for anything else,
// including overflow.
std::optional<std::uint64_t> parse_byte_size(std::string_view text);
std::string format_byte_size(std::uint64_t bytes);

}  // namespace wscp::agent
