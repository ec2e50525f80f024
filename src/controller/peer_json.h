#pragma once

// Reading JSON that a peer (an agent, through its Lease or its API) wrote:
// every field may have the wrong type or an absurd size. These helpers never
// throw; each problem is recorded with the field's path, and the caller turns
// the list into one error.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wscp::controller {

// What is wrong with a document, field by field.
class FieldProblems {
 public:
  void add(std::string_view field, std::string_view what);
  bool empty() const { return problems_.empty(); }
  // "field: what; field: what" (the first few, then how many more).
  std::string joined() const;

 private:
  std::vector<std::string> problems_;
};

// Peer-supplied text fit for a message: at most `max` characters, control
// characters and non-ASCII bytes escaped as \xNN (no line breaks, nothing
// that is not valid UTF-8), "..." when cut.
std::string excerpt(std::string_view text, std::size_t max = 80);

// A string of 1..max_length characters (0..max_length when allow_empty).
std::optional<std::string> read_string(const nlohmann::json& j, std::size_t max_length, std::string_view field,
                                       FieldProblems& problems, bool allow_empty = false);
// A non-negative integer no greater than max.
std::optional<std::uint64_t> read_unsigned(const nlohmann::json& j, std::string_view field, FieldProblems& problems,
                                           std::uint64_t max = UINT64_MAX);
std::optional<bool> read_bool(const nlohmann::json& j, std::string_view field, FieldProblems& problems);

// The member `key` of an object, or null when j is not an object or has none.
const nlohmann::json* member(const nlohmann::json& j, std::string_view key);

// Parses JSON text of at most max_bytes; nullopt (with a problem) when it is
// longer, not JSON, or nested deeper than max_depth.
std::optional<nlohmann::json> parse_bounded(std::string_view text, std::size_t max_bytes, std::string_view field,
                                            FieldProblems& problems, int max_depth = 16);

}  // namespace wscp::controller
