// The typed client against a real API server: CRUD of WorkspaceCheckpoints,
// the status subresource, optimistic concurrency, patches (merge and
// server-side apply), delete preconditions, pagination, and the built-in
// resources the project uses.
#include <doctest/doctest.h>

#include <set>

#include "client_env.h"
#include "kube/api_error.h"
#include "kube/base64.h"
#include "kube/conflict_retry.h"
#include "kube/object.h"

using namespace wscp;
using namespace wscp::kube;
using namespace wscp::kube::testing;
using namespace std::chrono_literals;

namespace {
const Resource& kWsc = resources::kWorkspaceCheckpoints;
}

TEST_CASE("client: create, get, update, status, patch and delete a WorkspaceCheckpoint") {
  KubeEnv kube;
  apply_crd(kube);
  auto client = admin_client(kube);
  const std::string ns = fresh_namespace(*client, "wscp-crud");

  auto created = client->create(kWsc, checkpoint_object(ns, "a"));
  REQUIRE_MESSAGE(created.ok(), created.error().describe());
  CHECK_FALSE(uid_of(*created).empty());
  CHECK((*created)["spec"]["reason"] == "Manual");  // the schema's default

  auto again = client->create(kWsc, checkpoint_object(ns, "a"));
  REQUIRE_FALSE(again.ok());
  CHECK(is_already_exists(again.error()));
  CHECK(again.error().code() == ErrorCode::kConflict);

  auto got = client->get(kWsc, ns, "a");
  REQUIRE(got.ok());
  CHECK(resource_version_of(*got) == resource_version_of(*created));

  // Update (labels; the spec is immutable) with the version read.
  Json changed = *got;
  changed["metadata"]["labels"]["team"] = "blue";
  auto updated = client->update(kWsc, changed);
  REQUIRE_MESSAGE(updated.ok(), updated.error().describe());
  CHECK(resource_version_of(*updated) != resource_version_of(*got));

  // The same stale version again: a conflict, told apart from AlreadyExists.
  changed["metadata"]["labels"]["team"] = "red";
  auto stale = client->update(kWsc, changed);
  REQUIRE_FALSE(stale.ok());
  CHECK(is_conflict(stale.error()));
  CHECK_FALSE(is_already_exists(stale.error()));
  CHECK(stale.error().message().find("the object has been modified") != std::string::npos);

  // The CRD's rules come back as invalid arguments with their message.
  Json spec_change = *updated;
  spec_change["spec"]["workspace"]["workspaceId"] = "ws-2";
  auto immutable = client->update(kWsc, spec_change);
  REQUIRE_FALSE(immutable.ok());
  CHECK(immutable.error().code() == ErrorCode::kInvalidArgument);
  CHECK(immutable.error().message().find("spec is immutable") != std::string::npos);

  // Status only through its subresource.
  Json with_status = *updated;
  with_status["status"] = {{"phase", "Pending"}, {"message", "waiting for a node"}};
  auto plain = client->update(kWsc, with_status);
  REQUIRE(plain.ok());
  CHECK_FALSE(plain->contains("status"));
  with_status["metadata"]["resourceVersion"] = resource_version_of(*plain);
  auto status = client->update_status(kWsc, with_status);
  REQUIRE_MESSAGE(status.ok(), status.error().describe());
  CHECK((*status)["status"]["phase"] == "Pending");
  Json bad_status = *status;
  bad_status["status"]["phase"] = "Sleeping";
  auto refused = client->update_status(kWsc, bad_status);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kInvalidArgument);
  CHECK(refused.error().message().find("Sleeping") != std::string::npos);

  // Merge patch of the object and of its status.
  REQUIRE(client->patch(kWsc, ns, "a", Json{{"metadata", {{"labels", {{"team", "green"}}}}}}).ok());
  PatchOptions status_patch;
  status_patch.subresource = "status";
  REQUIRE(client->patch(kWsc, ns, "a", Json{{"status", {{"phase", "Checkpointing"}}}}, status_patch).ok());
  auto now = client->get(kWsc, ns, "a");
  CHECK((*now)["metadata"]["labels"]["team"] == "green");
  CHECK((*now)["status"]["phase"] == "Checkpointing");
  CHECK((*now)["status"]["message"] == "waiting for a node");

  // Delete: a wrong uid precondition is refused, the right one works.
  DeleteOptions wrong;
  wrong.precondition_uid = "00000000-0000-0000-0000-000000000000";
  auto kept = client->remove(kWsc, ns, "a", wrong);
  REQUIRE_FALSE(kept.ok());
  CHECK(kept.error().code() == ErrorCode::kConflict);
  DeleteOptions right;
  right.precondition_uid = uid_of(*created);
  right.propagation = Propagation::kBackground;
  REQUIRE(client->remove(kWsc, ns, "a", right).ok());
  auto gone = client->get(kWsc, ns, "a");
  REQUIRE_FALSE(gone.ok());
  CHECK(is_not_found(gone.error()));
  CHECK(gone.error().message().find("\"a\" not found") != std::string::npos);
}

TEST_CASE("client: server-side apply owns fields; a conflict between managers needs force") {
  KubeEnv kube;
  apply_crd(kube);
  auto client = admin_client(kube);
  const std::string ns = fresh_namespace(*client, "wscp-apply");
  PatchOptions first;
  first.type = PatchType::kApply;
  first.field_manager = "wscp-test-a";
  Json desired = checkpoint_object(ns, "applied");
  desired["metadata"]["labels"]["owner"] = "a";
  auto applied = client->patch(kWsc, ns, "applied", desired, first);  // creates it
  REQUIRE_MESSAGE(applied.ok(), applied.error().describe());
  CHECK((*applied)["metadata"]["labels"]["owner"] == "a");

  PatchOptions second = first;
  second.field_manager = "wscp-test-b";
  Json theirs = {{"metadata", {{"name", "applied"}, {"labels", {{"owner", "b"}}}}}};
  auto conflict = client->patch(kWsc, ns, "applied", theirs, second);
  REQUIRE_FALSE(conflict.ok());
  CHECK(is_conflict(conflict.error()));
  CHECK(conflict.error().message().find("wscp-test-a") != std::string::npos);
  second.force = true;
  auto forced = client->patch(kWsc, ns, "applied", theirs, second);
  REQUIRE_MESSAGE(forced.ok(), forced.error().describe());
  CHECK((*forced)["metadata"]["labels"]["owner"] == "b");

  // Apply to the status subresource.
  PatchOptions status = first;
  status.subresource = "status";
  auto s = client->patch(kWsc, ns, "applied", Json{{"metadata", {{"name", "applied"}}}, {"status", {{"phase", "Failed"}}}},
                         status);
  REQUIRE_MESSAGE(s.ok(), s.error().describe());
  CHECK((*s)["status"]["phase"] == "Failed");
}

TEST_CASE("client: read-modify-write retries a conflict made by another writer") {
  KubeEnv kube;
  apply_crd(kube);
  auto client = admin_client(kube);
  auto other = admin_client(kube);
  const std::string ns = fresh_namespace(*client, "wscp-modify");
  REQUIRE(client->create(kWsc, checkpoint_object(ns, "m")).ok());
  int attempts = 0;
  ModifyOptions o;
  o.status = true;
  auto r = modify(*client, kWsc, ns, "m", [&](Json& obj) -> Result<bool> {
    if (++attempts == 1) {
      REQUIRE(other->patch(kWsc, ns, "m", Json{{"metadata", {{"annotations", {{"x", "y"}}}}}}).ok());
    }
    obj["status"]["phase"] = "Restored";
    return true;
  }, o);
  REQUIRE_MESSAGE(r.ok(), r.error().describe());
  CHECK(attempts == 2);
  auto stored = client->get(kWsc, ns, "m");
  CHECK((*stored)["status"]["phase"] == "Restored");
  CHECK((*stored)["metadata"]["annotations"]["x"] == "y");
}

TEST_CASE("client: lists in pages with label and field selectors") {
  KubeEnv kube;
  apply_crd(kube);
  auto client = admin_client(kube);
  const std::string ns = fresh_namespace(*client, "wscp-list");
  for (int i = 0; i < 7; ++i) {
    Json o = checkpoint_object(ns, "w" + std::to_string(i));
    o["metadata"]["labels"]["parity"] = i % 2 ? "odd" : "even";
    REQUIRE(client->create(kWsc, o).ok());
  }
  ListOptions page;
  page.limit = 3;
  auto first = client->list(kWsc, ns, page);
  REQUIRE(first.ok());
  CHECK(first->items.size() == 3);
  CHECK_FALSE(first->continue_token.empty());
  auto all = list_all(*client, kWsc, ns, page);
  REQUIRE_MESSAGE(all.ok(), all.error().describe());
  std::set<std::string> names;
  for (const auto& i : all->items) names.insert(name_of(i));
  CHECK(names.size() == 7);
  CHECK_FALSE(all->resource_version.empty());

  ListOptions even;
  even.label_selector = "parity=even";
  CHECK(client->list(kWsc, ns, even)->items.size() == 4);
  ListOptions one;
  one.field_selector = "metadata.name=w3";
  auto w3 = client->list(kWsc, ns, one);
  REQUIRE(w3->items.size() == 1);
  CHECK(name_of(w3->items[0]) == "w3");
  CHECK(w3->items[0]["kind"] == "WorkspaceCheckpoint");
  // All namespaces.
  ListOptions everywhere;
  everywhere.label_selector = "parity=odd";
  CHECK(client->list(kWsc, "", everywhere)->items.size() >= 3);
}

TEST_CASE("client: Nodes, Pods, Secrets and Leases") {
  KubeEnv kube;
  auto client = admin_client(kube);
  const std::string ns = fresh_namespace(*client, "wscp-kinds");

  const std::string node_name = "wscp-test-node-" + ns;
  auto node = client->create(resources::kNodes,
                             Json{{"metadata", {{"name", node_name}, {"labels", {{"wscp.dev/test", ns}}}}}});
  REQUIRE_MESSAGE(node.ok(), node.error().describe());
  ListOptions mine;
  mine.label_selector = "wscp.dev/test=" + ns;
  CHECK(client->list(resources::kNodes, "", mine)->items.size() == 1);
  auto tainted = client->patch(resources::kNodes, "", node_name,
                               Json{{"spec", {{"taints", Json::array({{{"key", "karpenter.sh/disrupted"},
                                                                        {"effect", "NoSchedule"}}})}}}},
                               PatchOptions{});
  REQUIRE(tainted.ok());
  CHECK((*tainted)["spec"]["taints"][0]["key"] == "karpenter.sh/disrupted");
  REQUIRE(client->remove(resources::kNodes, "", node_name).ok());

  Json container = {{"name", "c"}, {"image", "busybox"}};
  Json pod = {{"metadata", {{"name", "p"}, {"namespace", ns}}},
              {"spec", {{"nodeName", node_name}, {"containers", Json::array({container})}}}};
  REQUIRE(client->create(resources::kPods, pod).ok());
  ListOptions on_node;
  on_node.field_selector = "spec.nodeName=" + node_name;
  CHECK(client->list(resources::kPods, ns, on_node)->items.size() == 1);

  Json secret = {{"metadata", {{"name", "s"}, {"namespace", ns}}}, {"data", {{"key", base64_encode("s3cr3t")}}}};
  REQUIRE(client->create(resources::kSecrets, secret).ok());
  auto read = client->get(resources::kSecrets, ns, "s");
  REQUIRE(read.ok());
  CHECK(*base64_decode((*read)["data"]["key"].get<std::string>()) == "s3cr3t");

  Json lease = {{"metadata", {{"name", "l"}, {"namespace", ns}}}, {"spec", {{"holderIdentity", "me"}}}};
  REQUIRE(client->create(resources::kLeases, lease).ok());
  CHECK((*client->get(resources::kLeases, ns, "l"))["spec"]["holderIdentity"] == "me");
}

TEST_CASE("client: a resource the server does not serve, and a server that is not there") {
  KubeEnv kube;
  auto client = admin_client(kube);
  Resource bogus{"nothing.wscp.dev", "v1", "widgets", "Widget", true};
  auto r = client->list(bogus, "default");
  REQUIRE_FALSE(r.ok());
  CHECK(is_not_found(r.error()));
  CHECK(r.error().message().find("is its CRD installed") != std::string::npos);

  KubeConfig nowhere = config_from(kube.admin_kubeconfig());
  nowhere.server = "https://127.0.0.1:1";
  auto down = make_kube_client(nowhere)->get(resources::kNamespaces, "", "default");
  REQUIRE_FALSE(down.ok());
  CHECK(down.error().code() == ErrorCode::kUnavailable);
  CHECK(down.error().message().find("127.0.0.1:1") != std::string::npos);
}
