#include "kube/kube_client_impl.h"

#include <doctest/doctest.h>

#include "common/fake_clock.h"
#include "fake_http.h"
#include "kube/api_error.h"
#include "kube/base64.h"
#include "temp_dir.h"

using namespace wscp;
using namespace wscp::kube;
using wscp::kube::testing::FakeHttp;
using wscp::kube::testing::TempDir;

namespace {

const Resource& kWsc = resources::kWorkspaceCheckpoints;

struct Fixture {
  std::shared_ptr<FakeHttp> http = std::make_shared<FakeHttp>();
  KubeClientImpl client{http, "https://api:6443/", std::make_shared<TokenSource>("tok")};
};

Json checkpoint(const std::string& name, const std::string& rv = "") {
  Json o = {{"metadata", {{"name", name}, {"namespace", "ns"}}}, {"spec", {{"x", 1}}}};
  if (!rv.empty()) o["metadata"]["resourceVersion"] = rv;
  return o;
}

std::string status(int code, const std::string& reason, const std::string& message) {
  return Json{{"kind", "Status"}, {"code", code}, {"reason", reason}, {"message", message}}.dump();
}

}  // namespace

TEST_CASE("client: paths of core, group, namespaced and cluster-scoped resources") {
  struct Case {
    Resource r;
    std::string ns, name, sub, path;
  };
  const Case cases[] = {
      {resources::kPods, "ns", "p", "", "/api/v1/namespaces/ns/pods/p"},
      {resources::kPods, "", "", "", "/api/v1/pods"},
      {resources::kNodes, "ignored", "n1", "status", "/api/v1/nodes/n1/status"},
      {kWsc, "ns", "", "", "/apis/wscp.dev/v1alpha1/namespaces/ns/workspacecheckpoints"},
      {kWsc, "ns", "a", "status", "/apis/wscp.dev/v1alpha1/namespaces/ns/workspacecheckpoints/a/status"},
      {resources::kLeases, "kube-system", "l", "", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/l"},
      {resources::kEvents, "ns", "", "", "/apis/events.k8s.io/v1/namespaces/ns/events"},
      {resources::kServiceAccounts, "ns", "sa", "token", "/api/v1/namespaces/ns/serviceaccounts/sa/token"},
  };
  for (const auto& c : cases) {
    CHECK(resource_path(c.r, c.ns, c.name, c.sub) == c.path);
  }
  CHECK(kWsc.api_version() == "wscp.dev/v1alpha1");
  CHECK(resources::kPods.api_version() == "v1");
}

TEST_CASE("client: get sends the bearer token and parses the object") {
  Fixture f;
  f.http->answer(200, checkpoint("a", "7").dump());
  auto o = f.client.get(kWsc, "ns", "a");
  REQUIRE_MESSAGE(o.ok(), o.error().describe());
  CHECK((*o)["metadata"]["resourceVersion"] == "7");
  REQUIRE(f.http->sent.size() == 1);
  CHECK(f.http->sent[0].method == "GET");
  CHECK(f.http->sent[0].url == "https://api:6443/apis/wscp.dev/v1alpha1/namespaces/ns/workspacecheckpoints/a");
  CHECK(f.http->header(0, "Authorization") == "Bearer tok");
  CHECK(f.http->header(0, "Accept") == "application/json");
  CHECK(f.http->sent[0].timeout == std::chrono::milliseconds(30'000));
}

TEST_CASE("client: errors carry the verb, the object and the server's reason") {
  Fixture f;
  f.http->answer(404, status(404, "NotFound", "workspacecheckpoints.wscp.dev \"a\" not found"));
  auto o = f.client.get(kWsc, "ns", "a");
  REQUIRE_FALSE(o.ok());
  CHECK(is_not_found(o.error()));
  CHECK(o.error().message() ==
        "get workspacecheckpoints.wscp.dev ns/a: HTTP 404 NotFound: workspacecheckpoints.wscp.dev \"a\" not found");

  f.http->fail(Error(ErrorCode::kUnavailable, "GET https://api:6443/...: Connection refused"));
  auto down = f.client.get(kWsc, "ns", "a");
  REQUIRE_FALSE(down.ok());
  CHECK(down.error().code() == ErrorCode::kUnavailable);
  CHECK(down.error().message().starts_with("get workspacecheckpoints.wscp.dev ns/a: "));

  f.http->answer(200, "not json");
  auto garbage = f.client.get(kWsc, "ns", "a");
  REQUIRE_FALSE(garbage.ok());
  CHECK(garbage.error().code() == ErrorCode::kInternal);
}

TEST_CASE("client: list with selectors and pagination; items get apiVersion and kind") {
  Fixture f;
  f.http->answer(200, Json{{"metadata", {{"resourceVersion", "50"}, {"continue", "tok2"}}},
                           {"items", {checkpoint("a"), checkpoint("b")}}}
                          .dump());
  f.http->answer(200, Json{{"metadata", {{"resourceVersion", "50"}}}, {"items", {checkpoint("c")}}}.dump());
  ListOptions o;
  o.label_selector = "app=wscp,tier!=db";
  o.field_selector = "metadata.name=a";
  o.limit = 2;
  auto all = list_all(f.client, kWsc, "ns", o);
  REQUIRE_MESSAGE(all.ok(), all.error().describe());
  CHECK(all->items.size() == 3);
  CHECK(all->resource_version == "50");
  CHECK(all->items[2]["kind"] == "WorkspaceCheckpoint");
  CHECK(all->items[2]["apiVersion"] == "wscp.dev/v1alpha1");
  REQUIRE(f.http->sent.size() == 2);
  CHECK(f.http->sent[0].url ==
        "https://api:6443/apis/wscp.dev/v1alpha1/namespaces/ns/workspacecheckpoints"
        "?labelSelector=app%3Dwscp%2Ctier%21%3Ddb&fieldSelector=metadata.name%3Da&limit=2");
  CHECK(f.http->sent[1].url.ends_with("&limit=2&continue=tok2"));
}

TEST_CASE("client: create, update and update_status send the object with its type") {
  Fixture f;
  f.http->answer(201, checkpoint("a", "1").dump());
  f.http->answer(200, checkpoint("a", "2").dump());
  f.http->answer(200, checkpoint("a", "3").dump());
  WriteOptions w;
  w.field_manager = "wscp-controller";
  REQUIRE(f.client.create(kWsc, checkpoint("a"), w).ok());
  REQUIRE(f.client.update(kWsc, checkpoint("a", "1")).ok());
  REQUIRE(f.client.update_status(kWsc, checkpoint("a", "2")).ok());
  CHECK(f.http->sent[0].method == "POST");
  CHECK(f.http->sent[0].url.ends_with("/namespaces/ns/workspacecheckpoints?fieldManager=wscp-controller"));
  CHECK(f.http->header(0, "Content-Type") == "application/json");
  auto body = Json::parse(f.http->sent[0].body);
  CHECK(body["apiVersion"] == "wscp.dev/v1alpha1");
  CHECK(body["kind"] == "WorkspaceCheckpoint");
  CHECK(f.http->sent[1].method == "PUT");
  CHECK(f.http->sent[1].url.ends_with("/workspacecheckpoints/a"));
  CHECK(Json::parse(f.http->sent[1].body)["metadata"]["resourceVersion"] == "1");
  CHECK(f.http->sent[2].url.ends_with("/workspacecheckpoints/a/status"));
}

TEST_CASE("client: an object without name or namespace is refused before sending") {
  Fixture f;
  auto no_ns = f.client.create(kWsc, Json{{"metadata", {{"name", "a"}}}});
  REQUIRE_FALSE(no_ns.ok());
  CHECK(no_ns.error().message().find("metadata.namespace") != std::string::npos);
  auto no_name = f.client.update(kWsc, Json{{"metadata", {{"namespace", "ns"}}}});
  REQUIRE_FALSE(no_name.ok());
  CHECK(no_name.error().message().find("metadata.name") != std::string::npos);
  CHECK(f.http->sent.empty());
  // Cluster-scoped objects need no namespace.
  f.http->answer(201, "{}");
  CHECK(f.client.create(resources::kNodes, Json{{"metadata", {{"name", "n1"}}}}).ok());
  CHECK(f.http->sent[0].url == "https://api:6443/api/v1/nodes");
}

TEST_CASE("client: patch content types, server-side apply with field manager and force") {
  struct Case {
    PatchType type;
    const char* content_type;
  };
  const Case cases[] = {{PatchType::kMerge, "application/merge-patch+json"},
                        {PatchType::kJsonPatch, "application/json-patch+json"},
                        {PatchType::kStrategicMerge, "application/strategic-merge-patch+json"}};
  for (const auto& c : cases) {
    Fixture f;
    f.http->answer(200, "{}");
    PatchOptions o;
    o.type = c.type;
    REQUIRE(f.client.patch(kWsc, "ns", "a", Json{{"spec", {{"x", 2}}}}, o).ok());
    CHECK(f.http->sent[0].method == "PATCH");
    CHECK(f.http->header(0, "Content-Type") == c.content_type);
  }

  Fixture f;
  PatchOptions apply;
  apply.type = PatchType::kApply;
  auto refused = f.client.patch(kWsc, "ns", "a", Json::object(), apply);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message().find("field manager") != std::string::npos);

  f.http->answer(200, "{}");
  apply.field_manager = "wscp";
  apply.force = true;
  apply.subresource = "status";
  REQUIRE(f.client.patch(kWsc, "ns", "a", Json{{"status", {{"phase", "Pending"}}}}, apply).ok());
  CHECK(f.http->header(0, "Content-Type") == "application/apply-patch+yaml");
  CHECK(f.http->sent[0].url.ends_with("/workspacecheckpoints/a/status?fieldManager=wscp&force=true"));
  auto body = Json::parse(f.http->sent[0].body);
  CHECK(body["apiVersion"] == "wscp.dev/v1alpha1");
  CHECK(body["kind"] == "WorkspaceCheckpoint");
}

TEST_CASE("client: delete with preconditions and propagation") {
  Fixture f;
  f.http->answer(200, "{}");
  f.http->answer(200, "{}");
  REQUIRE(f.client.remove(kWsc, "ns", "a").ok());
  CHECK(f.http->sent[0].method == "DELETE");
  CHECK(f.http->sent[0].body.empty());
  DeleteOptions o;
  o.precondition_uid = "u1";
  o.precondition_resource_version = "9";
  o.propagation = Propagation::kForeground;
  o.grace_period_seconds = 0;
  REQUIRE(f.client.remove(kWsc, "ns", "a", o).ok());
  auto body = Json::parse(f.http->sent[1].body);
  CHECK(body["kind"] == "DeleteOptions");
  CHECK(body["preconditions"]["uid"] == "u1");
  CHECK(body["preconditions"]["resourceVersion"] == "9");
  CHECK(body["propagationPolicy"] == "Foreground");
  CHECK(body["gracePeriodSeconds"] == 0);
}

TEST_CASE("client: a TokenRequest through the serviceaccounts token subresource") {
  Fixture f;
  f.http->answer(201, Json{{"status", {{"token", "jwt"}}}}.dump());
  auto r = f.client.create_subresource(resources::kServiceAccounts, "ns", "sa", "token",
                                       Json{{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenRequest"}});
  REQUIRE(r.ok());
  CHECK((*r)["status"]["token"] == "jwt");
  CHECK(f.http->sent[0].url == "https://api:6443/api/v1/namespaces/ns/serviceaccounts/sa/token");
}

TEST_CASE("client: a 401 re-reads the token file and repeats the request once") {
  TempDir dir;
  dir.write("token", "old");
  auto clock = std::make_shared<wscp::testing::FakeClock>();
  auto http = std::make_shared<FakeHttp>();
  KubeClientImpl client(http, "https://api", std::make_shared<TokenSource>(dir.file("token"), clock));
  http->answer(200, "{}");
  REQUIRE(client.get(resources::kPods, "ns", "p").ok());
  CHECK(http->header(0, "Authorization") == "Bearer old");

  // Rotated in place so that nothing but the 401 makes it read again.
  const auto mtime = std::filesystem::last_write_time(dir.file("token"));
  dir.write("token", "new");
  std::filesystem::last_write_time(dir.file("token"), mtime);
  http->answer(401, status(401, "Unauthorized", "Unauthorized"));
  http->answer(200, "{}");
  REQUIRE(client.get(resources::kPods, "ns", "p").ok());
  REQUIRE(http->sent.size() == 3);
  CHECK(http->header(1, "Authorization") == "Bearer old");
  CHECK(http->header(2, "Authorization") == "Bearer new");

  // Still refused: the error, no endless retries.
  http->answer(401, status(401, "Unauthorized", "Unauthorized"));
  http->answer(401, status(401, "Unauthorized", "Unauthorized"));
  auto refused = client.get(resources::kPods, "ns", "p");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kPermissionDenied);
  CHECK(http->sent.size() == 5);
}

TEST_CASE("client: a fixed token is not retried on 401") {
  Fixture f;
  f.http->answer(401, status(401, "Unauthorized", "Unauthorized"));
  CHECK_FALSE(f.client.get(kWsc, "ns", "a").ok());
  CHECK(f.http->sent.size() == 1);
}

TEST_CASE("client: a call's own timeout and cancel token reach the request") {
  Fixture f;
  f.http->answer(200, "{}");
  CancelToken cancel;
  CallOptions o;
  o.timeout = std::chrono::milliseconds(1500);
  o.cancel = &cancel;
  REQUIRE(f.client.get(kWsc, "ns", "a", o).ok());
  CHECK(f.http->sent[0].timeout == std::chrono::milliseconds(1500));
  CHECK(f.http->sent[0].cancel == &cancel);
}

TEST_CASE("client: watch streams events split anywhere, with bookmarks and timeoutSeconds") {
  Fixture f;
  const std::string body = R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"11"}}})"
                           "\n"
                           R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"12"}}})"
                           "\n"
                           R"({"type":"DELETED","object":{"metadata":{"name":"a","resourceVersion":"13"}}})"
                           "\n";
  std::vector<std::string> chunks;
  for (std::size_t i = 0; i < body.size(); i += 7) chunks.push_back(body.substr(i, 7));
  f.http->answer_stream(chunks);
  WatchOptions o;
  o.resource_version = "10";
  o.timeout_seconds = 60;
  o.label_selector = "a=b";
  std::vector<std::pair<WatchEventType, std::string>> seen;
  Status s = f.client.watch(kWsc, "ns", o, [&](const WatchEvent& e) {
    seen.emplace_back(e.type, e.object["metadata"]["resourceVersion"].get<std::string>());
    return Status(Ok{});
  });
  REQUIRE_MESSAGE(s.ok(), s.error().describe());
  REQUIRE(seen.size() == 3);
  CHECK(seen[0] == std::pair{WatchEventType::kAdded, std::string("11")});
  CHECK(seen[1] == std::pair{WatchEventType::kBookmark, std::string("12")});
  CHECK(seen[2] == std::pair{WatchEventType::kDeleted, std::string("13")});
  CHECK(f.http->sent[0].url ==
        "https://api:6443/apis/wscp.dev/v1alpha1/namespaces/ns/workspacecheckpoints?watch=true&labelSelector=a%3Db"
        "&resourceVersion=10&allowWatchBookmarks=true&timeoutSeconds=60");
  CHECK(f.http->sent[0].timeout == std::chrono::seconds(90));
}

TEST_CASE("client: a watch's ERROR event ends it with the Status as an error; a refused watch too") {
  Fixture f;
  f.http->answer_stream({R"x({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired",)x"
                         R"x("message":"too old resource version: 1 (5)"}})x"
                         "\n"});
  int events = 0;
  Status s = f.client.watch(kWsc, "ns", WatchOptions{}, [&](const WatchEvent&) {
    ++events;
    return Status(Ok{});
  });
  REQUIRE_FALSE(s.ok());
  CHECK(is_gone(s.error()));
  CHECK(events == 0);

  f.http->answer(403, status(403, "Forbidden", "cannot watch"));
  Status refused = f.client.watch(kWsc, "ns", WatchOptions{}, [](const WatchEvent&) { return Status(Ok{}); });
  REQUIRE_FALSE(refused.ok());
  CHECK(is_forbidden(refused.error()));
}

TEST_CASE("client: a watch stream cut in the middle of an event is an error") {
  Fixture f;
  f.http->answer_stream({R"({"type":"ADDED","object":{"metadata":{"name":"a"}}})"
                         "\n{\"type\":\"MODIF"});
  Status s = f.client.watch(kWsc, "ns", WatchOptions{}, [](const WatchEvent&) { return Status(Ok{}); });
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code() == ErrorCode::kUnavailable);
  CHECK(s.error().message().find("middle of an event") != std::string::npos);
}

TEST_CASE("client: http settings from a configuration") {
  KubeConfig c;
  c.ca_pem = "CA";
  c.client_cert_file = "/c.crt";
  c.client_key_pem = "KEY";
  c.insecure_skip_tls_verify = true;
  auto h = http_client_config(c);
  CHECK(h.ca_pem == "CA");
  CHECK(h.client_cert == "/c.crt");
  CHECK(h.client_key_pem == "KEY");
  CHECK_FALSE(h.verify_peer);
}
