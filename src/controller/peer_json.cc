#include "controller/peer_json.h"

#include <cstdio>

#include "kube/json_type_name.h"

namespace wscp::controller {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxProblemsShown = 8;

std::string_view type_name(const json& j) { return kube::json_type_name(j); }

}  // namespace

void FieldProblems::add(std::string_view field, std::string_view what) {
  std::string p(field);
  p += ": ";
  p += what;
  problems_.push_back(std::move(p));
}

std::string FieldProblems::joined() const {
  std::string out;
  for (std::size_t i = 0; i < problems_.size() && i < kMaxProblemsShown; ++i) {
    if (i > 0) out += "; ";
    out += problems_[i];
  }
  if (problems_.size() > kMaxProblemsShown)
    out += "; and " + std::to_string(problems_.size() - kMaxProblemsShown) + " more";
  return out;
}

std::string excerpt(std::string_view text, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::optional<std::string> read_string(const json& j, std::size_t max_length, std::string_view field,
                                       FieldProblems& problems, bool allow_empty) {
  if (!j.is_string()) {
    problems.add(field, "must be a string, got " + std::string(type_name(j)));
    return std::nullopt;
  }
  const auto& s = j.get_ref<const std::string&>();
  if (s.empty() && !allow_empty) {
    problems.add(field, "must not be empty");
    return std::nullopt;
  }
  if (s.size() > max_length) {
    problems.add(field, "is " + std::to_string(s.size()) + " characters long, at most " + std::to_string(max_length) +
                            " are accepted");
    return std::nullopt;
  }
  return s;
}

std::optional<std::uint64_t> read_unsigned(const json& j, std::string_view field, FieldProblems& problems,
                                           std::uint64_t max) {
  // Parsed text gives unsigned integers for non-negative numbers; a value
  // built in code may be a signed one.
  if (j.is_number_integer()) {
    if (!j.is_number_unsigned() && j.get<std::int64_t>() < 0) {
      problems.add(field, "must not be negative");
      return std::nullopt;
    }
    const auto v = j.get<std::uint64_t>();
    if (v <= max) return v;
    problems.add(field, "is " + std::to_string(v) + ", at most " + std::to_string(max) + " is accepted");
    return std::nullopt;
  }
  problems.add(field, "must be a non-negative integer, got " + std::string(type_name(j)));
  return std::nullopt;
}

std::optional<bool> read_bool(const json& j, std::string_view field, FieldProblems& problems) {
  if (j.is_boolean()) return j.get<bool>();
  problems.add(field, "must be true or false, got " + std::string(type_name(j)));
  return std::nullopt;
}

const json* member(const json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::optional<json> parse_bounded(std::string_view text, std::size_t max_bytes, std::string_view field,
                                  FieldProblems& problems, int max_depth) {
  if (text.size() > max_bytes) {
    problems.add(field, "is " + std::to_string(text.size()) + " bytes, at most " + std::to_string(max_bytes) +
                            " are accepted");
    return std::nullopt;
  }
  bool too_deep = false;
  json::parser_callback_t depth_guard = [&](int depth, json::parse_event_t, json&) {
    if (depth > max_depth) too_deep = true;
    return !too_deep;
  };
  json parsed = json::parse(text, depth_guard, /*allow_exceptions=*/false);
  if (too_deep) {
    problems.add(field, "is nested deeper than " + std::to_string(max_depth) + " levels");
    return std::nullopt;
  }
  if (parsed.is_discarded()) {
    problems.add(field, "is not valid JSON: \"" + excerpt(text, 60) + "\"");
    return std::nullopt;
  }
  return parsed;
}

}  // namespace wscp::controller
