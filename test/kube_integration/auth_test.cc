// Authentication and authorization against a real API server: a user without
// RBAC rights gets a clear permission error, and a service account's token
// file that rotates is picked up without restarting the client.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "client_env.h"
#include "kube/api_error.h"
#include "kube/object.h"

using namespace wscp;
using namespace wscp::kube;
using namespace wscp::kube::testing;
using namespace std::chrono_literals;

namespace {

const Resource kRoles{"rbac.authorization.k8s.io", "v1", "roles", "Role", true};
const Resource kRoleBindings{"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true};

// A token for the service account, bound to a Secret: deleting the Secret
// revokes the token, which is how the test makes an old token stop working.
std::string request_token(KubeClient& admin, const std::string& ns, const std::string& sa, const Json& secret) {
  Json request = {{"apiVersion", "authentication.k8s.io/v1"},
                  {"kind", "TokenRequest"},
                  {"spec",
                   {{"expirationSeconds", 3600},
                    {"boundObjectRef",
                     {{"apiVersion", "v1"}, {"kind", "Secret"}, {"name", name_of(secret)}, {"uid", uid_of(secret)}}}}}};
  auto r = admin.create_subresource(resources::kServiceAccounts, ns, sa, "token", request);
  REQUIRE_MESSAGE(r.ok(), r.error().describe());
  return (*r)["status"]["token"].get<std::string>();
}

Json make_secret(KubeClient& admin, const std::string& ns, const std::string& name) {
  auto s = admin.create(resources::kSecrets, Json{{"metadata", {{"name", name}, {"namespace", ns}}}});
  REQUIRE_MESSAGE(s.ok(), s.error().describe());
  return *s;
}

// Waits until the API server refuses `token` (revocation is not instant).
void wait_revoked(const KubeEnv& kube, const std::string& token, const std::string& ns) {
  KubeConfig c;
  c.server = kube.server();
  c.ca_file = kube.ca_file();
  c.token = token;
  auto fixed = make_kube_client(c);
  REQUIRE(eventually(
      [&] {
        auto r = fixed->list(resources::kSecrets, ns);
        return !r.ok() && is_unauthorized(r.error());
      },
      30s, 50ms));
}

}  // namespace

TEST_CASE("auth: a user without RBAC rights gets a clear permission error") {
  KubeEnv kube;
  apply_crd(kube);
  auto restricted = make_kube_client(config_from(kube.restricted_kubeconfig()));
  auto r = restricted->list(resources::kWorkspaceCheckpoints, "default");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kPermissionDenied);
  CHECK(is_forbidden(r.error()));
  const std::string& m = r.error().message();
  MESSAGE(m);
  CHECK(m.find("list workspacecheckpoints.wscp.dev in namespace default: HTTP 403 Forbidden:") == 0);
  CHECK(m.find("User \"wscp-test-nobody\" cannot list resource \"workspacecheckpoints\"") != std::string::npos);
  CHECK(m.find("check the RBAC role") != std::string::npos);

  auto w = restricted->create(resources::kLeases,
                              Json{{"metadata", {{"name", "x"}, {"namespace", "default"}}}, {"spec", Json::object()}});
  REQUIRE_FALSE(w.ok());
  CHECK(w.error().message().find("cannot create resource \"leases\"") != std::string::npos);
}

TEST_CASE("auth: a rotated service account token file is picked up") {
  KubeEnv kube;
  auto admin = admin_client(kube);
  const std::string ns = fresh_namespace(*admin, "wscp-token");
  REQUIRE(admin->create(resources::kServiceAccounts, Json{{"metadata", {{"name", "agent"}, {"namespace", ns}}}}).ok());
  REQUIRE(admin->create(kRoles, Json{{"metadata", {{"name", "read-secrets"}, {"namespace", ns}}},
                                     {"rules", {{{"apiGroups", {""}}, {"resources", {"secrets"}},
                                                 {"verbs", {"get", "list"}}}}}})
              .ok());
  REQUIRE(admin->create(kRoleBindings,
                        Json{{"metadata", {{"name", "agent-reads"}, {"namespace", ns}}},
                             {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", "read-secrets"}}},
                             {"subjects", {{{"kind", "ServiceAccount"}, {"name", "agent"}, {"namespace", ns}}}}})
              .ok());
  Json anchor1 = make_secret(*admin, ns, "anchor-1");
  Json anchor2 = make_secret(*admin, ns, "anchor-2");
  Json anchor3 = make_secret(*admin, ns, "anchor-3");
  const std::string token1 = request_token(*admin, ns, "agent", anchor1);
  const std::string token2 = request_token(*admin, ns, "agent", anchor2);
  const std::string token3 = request_token(*admin, ns, "agent", anchor3);

  // The pod's view: a service account directory with token, ca.crt, namespace.
  const std::string dir = kube.state_dir() + "/sa-" + ns;
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kube.ca_file(), dir + "/ca.crt", std::filesystem::copy_options::overwrite_existing);
  std::ofstream(dir + "/namespace") << ns;
  std::ofstream(dir + "/token") << token1;
  KubeConfig config = config_from(kube.admin_kubeconfig());
  KubeConfig pod;
  pod.server = config.server;
  pod.ca_file = dir + "/ca.crt";
  pod.token_file = dir + "/token";
  auto client = make_kube_client(pod);
  auto first = client->list(resources::kSecrets, ns);
  REQUIRE_MESSAGE(first.ok(), first.error().describe());
  CHECK(first->items.size() == 3);

  SUBCASE("replaced by a new file, as the kubelet rotates it") {
    std::ofstream(dir + "/token.new") << token2;
    std::filesystem::rename(dir + "/token.new", dir + "/token");
    REQUIRE(admin->remove(resources::kSecrets, ns, "anchor-1").ok());
    wait_revoked(kube, token1, ns);
    auto after = client->list(resources::kSecrets, ns);
    REQUIRE_MESSAGE(after.ok(), after.error().describe());
  }
  SUBCASE("rewritten in place, unnoticed until the server refuses the old one") {
    // Same inode, size and modification time, so only the 401 makes the
    // client read the file again. (JWTs with the same claims have the same
    // length; trailing newlines, which the client trims, make up a difference.)
    REQUIRE(token3.size() <= token1.size());
    const auto mtime = std::filesystem::last_write_time(dir + "/token");
    {
      std::ofstream out(dir + "/token", std::ios::in | std::ios::out);
      out << token3 << std::string(token1.size() - token3.size(), '\n');
    }
    std::filesystem::last_write_time(dir + "/token", mtime);
    REQUIRE(std::filesystem::file_size(dir + "/token") == token1.size());
    REQUIRE(admin->remove(resources::kSecrets, ns, "anchor-1").ok());
    wait_revoked(kube, token1, ns);
    auto after = client->list(resources::kSecrets, ns);
    REQUIRE_MESSAGE(after.ok(), after.error().describe());
  }
  SUBCASE("a token nobody replaced stays refused, with a clear error") {
    REQUIRE(admin->remove(resources::kSecrets, ns, "anchor-1").ok());
    wait_revoked(kube, token1, ns);
    auto after = client->list(resources::kSecrets, ns);
    REQUIRE_FALSE(after.ok());
    CHECK(is_unauthorized(after.error()));
    CHECK(after.error().message().find("check the token") != std::string::npos);
  }
  std::filesystem::remove_all(dir);
}
