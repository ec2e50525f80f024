#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace wscp::kube {

// What kind of JSON value `j` is, for error messages ("must be a string,
// not an integer").
inline std::string_view json_type_name(const nlohmann::json& j) {
  if (j.is_null()) return "null";
  if (j.is_boolean()) return "a boolean";
  if (j.is_number_integer() || j.is_number_unsigned()) return "an integer";
  if (j.is_number()) return "a number";
  if (j.is_string()) return "a string";
  if (j.is_array()) return "a list";
  return "an object";
}

}  // namespace wscp::kube
