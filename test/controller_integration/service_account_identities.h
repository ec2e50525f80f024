#pragma once

// The identities the chart gives the controller and the agents, made real
// on the test API server: the chart's ServiceAccounts, roles and Lease
// policy rendered by helm for the agents' namespace and applied; a Pod per
// identity (an agent's with spec.nodeName, as the DaemonSet makes it; no
// kubelet runs them); a TokenRequest bound to each Pod; a kubeconfig
// holding each token. So the end-to-end tests pass with the rendered roles
// and nothing more, and the API server derives an agent's node from its
// token as it does in a cluster.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "kube_env.h"

namespace wscp::controller::testing {

class ServiceAccountIdentities {
 public:
  static constexpr const char* kRelease = "t";  // the chart's names start with "t-wscp-"

  ServiceAccountIdentities(const kube::testing::KubeEnv& kube, std::string ns, std::filesystem::path dir,
                           const std::vector<std::string>& nodes)
      : kube_(kube), ns_(std::move(ns)), dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    apply_chart_identities();
    controller_kubeconfig_ = token_kubeconfig("controller", account("controller"), "");
    for (const auto& node : nodes) agent_kubeconfigs_[node] = token_kubeconfig("agent-" + node, account("agent"), node);
    wait_for_lease_policy(nodes.front());
  }

  const std::string& controller_kubeconfig() const { return controller_kubeconfig_; }
  const std::string& agent_kubeconfig(const std::string& node) const {
    auto it = agent_kubeconfigs_.find(node);
    REQUIRE_MESSAGE(it != agent_kubeconfigs_.end(), "no agent identity for node ", node);
    return it->second;
  }

 private:
  static std::string account(const std::string& component) { return std::string(kRelease) + "-wscp-" + component; }

  // The chart's ServiceAccounts, RBAC and Lease policy, rendered for `ns_`.
  void apply_chart_identities() const {
    const auto rendered = kube::testing::KubeEnv::run_command(
        {kube_.bin_dir() + "/helm", "template", kRelease, std::string(WSCP_SOURCE_DIR) + "/charts/wscp", "--namespace",
         ns_, "--kube-version", "1.34.0", "--show-only", "templates/serviceaccounts.yaml", "--show-only",
         "templates/rbac.yaml", "--show-only", "templates/lease-policy.yaml"});
    REQUIRE_MESSAGE(rendered.ok(), "helm template: ", rendered.output());
    const auto applied = kube_.kubectl({"apply", "-n", ns_, "-f", "-"}, rendered.out);
    REQUIRE_MESSAGE(applied.ok(), "applying the chart's identities: ", applied.output());
  }

  // A Pod of `service_account` (on `node` unless empty), a token bound to
  // it, and a kubeconfig holding that token; returns the kubeconfig's path.
  std::string token_kubeconfig(const std::string& pod, const std::string& service_account,
                               const std::string& node) const {
    nlohmann::json spec = {{"serviceAccountName", service_account},
                           {"automountServiceAccountToken", false},
                           {"containers", {{{"name", "main"}, {"image", "wscp:test"}}}}};
    if (!node.empty()) spec["nodeName"] = node;
    const nlohmann::json object = {{"apiVersion", "v1"},
                                   {"kind", "Pod"},
                                   {"metadata", {{"name", pod}, {"namespace", ns_}}},
                                   {"spec", spec}};
    const auto created = kube_.kubectl({"create", "-f", "-"}, object.dump());
    REQUIRE_MESSAGE(created.ok(), "pod ", pod, ": ", created.output());
    const auto token = kube_.kubectl({"create", "token", service_account, "-n", ns_, "--bound-object-kind", "Pod",
                                      "--bound-object-name", pod, "--duration", "2h"});
    REQUIRE_MESSAGE(token.ok(), "token for ", pod, ": ", token.output());
    std::string value = token.out;
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();

    const nlohmann::json config = {
        {"apiVersion", "v1"},
        {"kind", "Config"},
        {"clusters",
         {{{"name", "test"},
           {"cluster", {{"server", kube_.server()}, {"certificate-authority", kube_.ca_file()}}}}}},
        {"users", {{{"name", pod}, {"user", {{"token", value}}}}}},
        {"contexts", {{{"name", pod}, {"context", {{"cluster", "test"}, {"user", pod}, {"namespace", ns_}}}}}},
        {"current-context", pod}};
    const auto path = dir_ / (pod + ".kubeconfig");
    std::ofstream(path) << config.dump(2);
    std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return path.string();
  }

  // The API server loads a new ValidatingAdmissionPolicy a moment after it
  // is created. Waits until an agent's token is refused another node's
  // Lease, which also proves the token carries its Pod's node.
  void wait_for_lease_policy(const std::string& node) const {
    const std::string other = "wscp-agent-not-" + node;
    const nlohmann::json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                                  {"kind", "Lease"},
                                  {"metadata", {{"name", other}, {"namespace", ns_}}},
                                  {"spec", {{"holderIdentity", "test"}}}};
    kube::testing::CommandResult last;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      last = kube_.kubectl_as(agent_kubeconfig(node), {"create", "-f", "-"}, lease.dump());
      if (!last.ok()) break;
      (void)kube_.kubectl({"delete", "lease", "-n", ns_, other});
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    REQUIRE_MESSAGE(last.output().find("an agent may write only the Lease of the node its pod runs on") !=
                        std::string::npos,
                    "node ", node, "'s agent token and another node's Lease: ", last.output());
  }

  const kube::testing::KubeEnv& kube_;
  std::string ns_;
  std::filesystem::path dir_;
  std::string controller_kubeconfig_;
  std::map<std::string, std::string> agent_kubeconfigs_;
};

}  // namespace wscp::controller::testing
