#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace wscp::kube::testing {

// A YAML document as JSON, typed the way Kubernetes reads YAML: plain
// scalars that look like integers, booleans or null become those; quoted
// scalars stay strings.
inline nlohmann::json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& item : node) a.push_back(yaml_to_json(item));
      return a;
    }
    case YAML::NodeType::Map: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& kv : node) o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return o;
    }
    case YAML::NodeType::Scalar:
      break;
  }
  const std::string& s = node.Scalar();
  if (node.Tag() == "?") {  // plain (unquoted)
    std::size_t digits_from = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
    bool integer = s.size() > digits_from &&
                   s.find_first_not_of("0123456789", digits_from) == std::string::npos;
    if (integer) return std::stoll(s);
    if (s == "true") return true;
    if (s == "false") return false;
    if (s == "null" || s == "~") return nullptr;
  }
  return s;
}

inline nlohmann::json load_yaml_file(const std::string& path) {
  return yaml_to_json(YAML::LoadFile(path));
}

}  // namespace wscp::kube::testing
