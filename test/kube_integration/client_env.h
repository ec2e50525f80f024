#pragma once

// Helpers for the client's tests against the fixture's API server: clients
// from the fixture's kubeconfigs, fresh namespaces, the CRD, and polling.

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include "kube/kube_client_impl.h"
#include "kube/kubeconfig.h"
#include "kube_env.h"

namespace wscp::kube::testing {

inline const std::string kCrdFile = std::string(WSCP_SOURCE_DIR) + "/crds/wscp.dev_workspacecheckpoints.yaml";

inline KubeConfig config_from(const std::string& kubeconfig) {
  auto c = load_kubeconfig(kubeconfig);
  if (!c) throw std::runtime_error(c.error().describe());
  return *c;
}

inline std::unique_ptr<KubeClient> admin_client(const KubeEnv& kube, ClientOptions options = {}) {
  return make_kube_client(config_from(kube.admin_kubeconfig()), options);
}

// A namespace of its own per test, so tests do not see each other's objects.
inline std::string fresh_namespace(KubeClient& client, const std::string& stem) {
  std::mt19937 rng(std::random_device{}());
  const std::string name = stem + "-" + std::to_string(rng() % 1'000'000);
  auto r = client.create(resources::kNamespaces, Json{{"metadata", {{"name", name}}}});
  if (!r) throw std::runtime_error(r.error().describe());
  return name;
}

inline void apply_crd(const KubeEnv& kube) { kube.apply_crd(kCrdFile, "workspacecheckpoints.wscp.dev"); }

// A minimal valid WorkspaceCheckpoint.
inline Json checkpoint_object(const std::string& ns, const std::string& name, const std::string& workspace_id = "ws-1") {
  return {{"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", {{"workspace", {{"workspaceId", workspace_id}}}}}};
}

// Polls `done` until it holds or `timeout` passes.
inline bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds every = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

}  // namespace wscp::kube::testing
