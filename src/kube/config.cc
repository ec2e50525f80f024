#include "kube/config.h"

#include <cstdlib>
#include <filesystem>

#include "kube/in_cluster.h"
#include "kube/kubeconfig.h"

namespace wscp::kube {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

ConfigSources ConfigSources::from_environment(std::string kubeconfig, std::string context) {
  ConfigSources s;
  s.kubeconfig = std::move(kubeconfig);
  s.context = std::move(context);
  s.kubeconfig_env = env("KUBECONFIG");
  s.service_host = env("KUBERNETES_SERVICE_HOST");
  s.service_port = env("KUBERNETES_SERVICE_PORT");
  s.home = env("HOME");
  return s;
}

Result<KubeConfig> load_config(const ConfigSources& s) {
  if (!s.kubeconfig.empty()) return load_kubeconfig(s.kubeconfig, s.context);
  if (!s.kubeconfig_env.empty()) {
    std::string first = s.kubeconfig_env.substr(0, s.kubeconfig_env.find(':'));
    if (!first.empty()) return load_kubeconfig(first, s.context);
  }
  if (!s.service_host.empty()) {
    if (!s.context.empty()) {
      return Error(ErrorCode::kInvalidArgument,
                   "a kubeconfig context (\"" + s.context + "\") was asked for but no kubeconfig was given");
    }
    return in_cluster_config(s.service_host, s.service_port, s.service_account_dir);
  }
  if (!s.home.empty()) {
    const std::string path = s.home + "/.kube/config";
    if (std::filesystem::exists(path)) return load_kubeconfig(path, s.context);
  }
  return Error(ErrorCode::kNotFound,
               "no Kubernetes configuration: give a kubeconfig (flag or $KUBECONFIG), run in a pod "
               "(KUBERNETES_SERVICE_HOST), or create ~/.kube/config");
}

}  // namespace wscp::kube
