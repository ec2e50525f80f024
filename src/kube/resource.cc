#include "kube/resource.h"

#include "http/client.h"

namespace wscp::kube {

std::string resource_path(const Resource& r, std::string_view ns, std::string_view name,
                          std::string_view subresource) {
  std::string path = r.group.empty() ? "/api/" + r.version : "/apis/" + r.group + "/" + r.version;
  if (r.namespaced && !ns.empty()) path += "/namespaces/" + http::url_encode(ns);
  path += "/" + r.plural;
  if (!name.empty()) {
    path += "/" + http::url_encode(name);
    if (!subresource.empty()) path += "/" + std::string(subresource);
  }
  return path;
}

std::string object_key(std::string_view ns, std::string_view name) {
  if (ns.empty()) return std::string(name);
  std::string key(ns);
  key += '/';
  key += name;
  return key;
}

}  // namespace wscp::kube
