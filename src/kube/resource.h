#pragma once

#include <string>
#include <string_view>

namespace wscp::kube {

// Which kind of object a request is about: enough to build its REST path.
// Objects themselves travel as nlohmann::json.
struct Resource {
  std::string group;    // "" for the core API
  std::string version;  // "v1", "v1alpha1"
  std::string plural;   // the REST resource name: "pods", "workspacecheckpoints"
  std::string kind;     // "Pod"; filled into objects the client creates
  bool namespaced = true;

  // "v1" or "group/version", as apiVersion fields spell it.
  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  // "pods" or "workspacecheckpoints.wscp.dev", as the API server names it in messages.
  std::string qualified_name() const { return group.empty() ? plural : plural + "." + group; }

  bool operator==(const Resource&) const = default;
};

// The resources the project uses.
namespace resources {
inline const Resource kWorkspaceCheckpoints{"wscp.dev", "v1alpha1", "workspacecheckpoints", "WorkspaceCheckpoint", true};
inline const Resource kNodes{"", "v1", "nodes", "Node", false};
inline const Resource kPods{"", "v1", "pods", "Pod", true};
inline const Resource kSecrets{"", "v1", "secrets", "Secret", true};
inline const Resource kServiceAccounts{"", "v1", "serviceaccounts", "ServiceAccount", true};
inline const Resource kNamespaces{"", "v1", "namespaces", "Namespace", false};
inline const Resource kLeases{"coordination.k8s.io", "v1", "leases", "Lease", true};
inline const Resource kEvents{"events.k8s.io", "v1", "events", "Event", true};
}  // namespace resources

// REST path of a collection ("/api/v1/namespaces/ns/pods") or of one object
// when name is not empty, optionally a subresource of it ("/status").
// ns is ignored for cluster-scoped resources; empty ns on a namespaced
// resource means all namespaces (lists and watches only).
std::string resource_path(const Resource& r, std::string_view ns, std::string_view name = {},
                          std::string_view subresource = {});

// "ns/name" or "name": how objects are keyed in caches and named in messages.
std::string object_key(std::string_view ns, std::string_view name);

}  // namespace wscp::kube
