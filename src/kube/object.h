#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "kube/resource.h"

namespace wscp::kube {

using Json = nlohmann::json;

// Tolerant accessors for an object's metadata: a missing field reads as "".
inline std::string meta_string(const Json& object, const char* field) {
  auto m = object.find("metadata");
  if (m == object.end() || !m->is_object()) return {};
  auto f = m->find(field);
  return f != m->end() && f->is_string() ? f->get<std::string>() : std::string();
}
inline std::string name_of(const Json& o) { return meta_string(o, "name"); }
inline std::string namespace_of(const Json& o) { return meta_string(o, "namespace"); }
inline std::string uid_of(const Json& o) { return meta_string(o, "uid"); }
inline std::string resource_version_of(const Json& o) { return meta_string(o, "resourceVersion"); }
inline std::string key_of(const Json& o) { return object_key(namespace_of(o), name_of(o)); }

}  // namespace wscp::kube
