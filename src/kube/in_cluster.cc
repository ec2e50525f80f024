#include "kube/in_cluster.h"

#include <fstream>
#include <sstream>

namespace wscp::kube {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t start = s.find_first_not_of(" \t\r\n");
  return start == std::string::npos ? std::string() : s.substr(start);
}

}  // namespace

Result<KubeConfig> in_cluster_config(const std::string& host, const std::string& port, const std::string& dir) {
  auto bad = [](const std::string& what) {
    return Error(ErrorCode::kInvalidArgument, "in-cluster configuration: " + what);
  };
  if (host.empty() || port.empty()) {
    return bad("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be set (they are in a pod); "
               "outside a cluster, use a kubeconfig");
  }
  if (port.find_first_not_of("0123456789") != std::string::npos) {
    return bad("KUBERNETES_SERVICE_PORT \"" + port + "\" is not a port number");
  }
  KubeConfig c;
  c.origin = "in-cluster service account (" + dir + ")";
  const bool ipv6 = host.find(':') != std::string::npos;
  c.server = "https://" + (ipv6 ? "[" + host + "]" : host) + ":" + port;

  c.token_file = dir + "/token";
  if (!std::ifstream(c.token_file)) {
    return bad(c.token_file + ": cannot be read; is a service account token mounted "
               "(automountServiceAccountToken)?");
  }
  c.ca_file = dir + "/ca.crt";
  if (!std::ifstream(c.ca_file)) return bad(c.ca_file + ": cannot be read");
  if (std::ifstream ns{dir + "/namespace"}) {
    std::stringstream text;
    text << ns.rdbuf();
    std::string name = trim(text.str());
    if (!name.empty()) c.default_namespace = name;
  }
  return c;
}

}  // namespace wscp::kube
