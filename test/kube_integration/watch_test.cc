// Watches and the informer against a real API server: every change in order,
// surviving an API server restart, and relisting after a compaction (410).
#include <doctest/doctest.h>

#include <mutex>

#include "client_env.h"
#include "gated_client.h"
#include "kube/api_error.h"
#include "kube/informer.h"
#include "kube/object.h"

using namespace wscp;
using namespace wscp::kube;
using namespace wscp::kube::testing;
using namespace std::chrono_literals;

namespace {

const Resource& kWsc = resources::kWorkspaceCheckpoints;

// What an informer's handlers saw, in order.
struct Seen {
  std::mutex mu;
  std::vector<std::string> log;
  std::vector<std::string> versions;  // resourceVersion of each add/update/delete

  InformerHandlers handlers() {
    InformerHandlers h;
    h.on_add = [this](const Json& o) { add("add " + name_of(o), o); };
    h.on_update = [this](const Json& old, const Json& now) {
      if (resource_version_of(old) == resource_version_of(now)) return;  // resync
      std::string label = now["metadata"].value("labels", Json::object()).value("step", "");
      add("update " + name_of(now) + (label.empty() ? "" : " step=" + label), now);
    };
    h.on_delete = [this](const Json& o) { add("delete " + name_of(o), o); };
    return h;
  }
  void add(std::string line, const Json& o) {
    std::lock_guard lock(mu);
    log.push_back(std::move(line));
    versions.push_back(resource_version_of(o));
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(mu);
    return log;
  }
  std::size_t size() {
    std::lock_guard lock(mu);
    return log.size();
  }
};

InformerOptions quick_backoff() {
  InformerOptions o;
  o.watch.backoff.initial = 100ms;
  o.watch.backoff.max = 1s;
  return o;
}

std::string names_in(const Informer& informer) {
  std::vector<std::string> names;
  for (const auto& o : informer.list()) names.push_back(name_of(o));
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += n + " ";
  return out;
}

}  // namespace

TEST_CASE("watch: list then watch sees every change, in order") {
  KubeEnv kube;
  apply_crd(kube);
  auto client = admin_client(kube);
  const std::string ns = fresh_namespace(*client, "wscp-watch");
  REQUIRE(client->create(kWsc, checkpoint_object(ns, "before")).ok());

  Informer informer(*client, kWsc, ns, quick_backoff());
  Seen seen;
  informer.add_handlers(seen.handlers());
  informer.start();
  REQUIRE(informer.wait_for_sync(30s));
  CHECK(seen.snapshot() == std::vector<std::string>{"add before"});

  std::vector<std::string> expected{"add before"};
  for (int i = 0; i < 5; ++i) {
    const std::string name = "w" + std::to_string(i);
    REQUIRE(client->create(kWsc, checkpoint_object(ns, name)).ok());
    expected.push_back("add " + name);
  }
  for (int step = 1; step <= 3; ++step) {
    for (int i = 0; i < 5; i += 2) {
      const std::string name = "w" + std::to_string(i);
      REQUIRE(client->patch(kWsc, ns, name, Json{{"metadata", {{"labels", {{"step", std::to_string(step)}}}}}}).ok());
      expected.push_back("update " + name + " step=" + std::to_string(step));
    }
  }
  for (const char* name : {"w1", "before", "w4"}) {
    REQUIRE(client->remove(kWsc, ns, name).ok());
    expected.push_back(std::string("delete ") + name);
  }
  REQUIRE_MESSAGE(eventually([&] { return seen.size() >= expected.size(); }, 30s), seen.size());
  CHECK(seen.snapshot() == expected);
  // Versions only grow.
  std::vector<std::string> versions;
  {
    std::lock_guard lock(seen.mu);
    versions = seen.versions;
  }
  for (std::size_t i = 2; i < versions.size(); ++i) CHECK(std::stoll(versions[i]) > std::stoll(versions[i - 1]));
  CHECK(names_in(informer) == "w0 w2 w3 ");
  informer.stop();
}

TEST_CASE("watch: the informer survives an API server restart") {
  KubeEnv kube;
  apply_crd(kube);
  auto real = admin_client(kube);
  GatedClient client(*real);
  const std::string ns = fresh_namespace(*real, "wscp-restart");
  REQUIRE(real->create(kWsc, checkpoint_object(ns, "a")).ok());
  REQUIRE(real->create(kWsc, checkpoint_object(ns, "b")).ok());

  Informer informer(client, kWsc, ns, quick_backoff());
  Seen seen;
  informer.add_handlers(seen.handlers());
  informer.start();
  REQUIRE(informer.wait_for_sync(30s));

  kube.restart_apiserver();
  // Right after the restart, maybe before the informer is back.
  REQUIRE(real->remove(kWsc, ns, "a").ok());
  REQUIRE(real->create(kWsc, checkpoint_object(ns, "c")).ok());
  REQUIRE(eventually([&] { return names_in(informer) == "b c "; }, 60s));
  // And it keeps watching.
  REQUIRE(real->create(kWsc, checkpoint_object(ns, "d")).ok());
  REQUIRE(eventually([&] { return names_in(informer) == "b c d "; }, 30s));
  auto log = seen.snapshot();
  CHECK(std::find(log.begin(), log.end(), "delete a") != log.end());
  CHECK(std::find(log.begin(), log.end(), "add c") != log.end());
  // The outage was noticed: a watch ended or failed while the server was down.
  CHECK(client.watch_results().size() >= 1);
  informer.stop();
}

TEST_CASE("watch: after a compaction the watch gets 410 Gone and the informer relists, deletes included") {
  KubeEnv kube;
  apply_crd(kube);
  // Without the watch cache, watches go to etcd, which refuses compacted revisions.
  kube.restart_apiserver({"--watch-cache=false"});
  struct Restore {
    const KubeEnv& kube;
    ~Restore() {
      try {
        kube.restart_apiserver();
      } catch (...) {
      }
    }
  } restore{kube};
  auto real = admin_client(kube);
  GatedClient client(*real);
  const std::string ns = fresh_namespace(*real, "wscp-compact");
  for (const char* n : {"a", "b", "c"}) REQUIRE(real->create(kWsc, checkpoint_object(ns, n)).ok());

  InformerOptions o = quick_backoff();
  o.watch.watch_timeout_seconds = 2;  // watches end often, so the next one starts from an old version
  Informer informer(client, kWsc, ns, o);
  Seen seen;
  informer.add_handlers(seen.handlers());
  informer.start();
  REQUIRE(informer.wait_for_sync(30s));
  CHECK(client.lists() == 1);

  // Hold the next watch back, change things meanwhile, and compact them away.
  client.close_gate();
  REQUIRE(eventually([&] { return client.waiting() == 1; }, 30s));
  REQUIRE(real->remove(kWsc, ns, "b").ok());
  REQUIRE(real->create(kWsc, checkpoint_object(ns, "d")).ok());
  REQUIRE(real->patch(kWsc, ns, "a", Json{{"metadata", {{"labels", {{"step", "1"}}}}}}).ok());
  const long long revision = kube.compact();
  CHECK(revision > 0);
  client.open_gate();

  REQUIRE(eventually([&] { return names_in(informer) == "a c d "; }, 30s));
  REQUIRE(eventually([&] { return seen.size() == 6; }, 10s));
  auto log = seen.snapshot();
  CHECK(log == std::vector<std::string>{"add a", "add b", "add c", "update a step=1", "add d", "delete b"});
  bool saw_gone = false;
  for (const auto& s : client.watch_results()) {
    if (!s.ok() && is_gone(s.error())) saw_gone = true;
  }
  CHECK(saw_gone);
  CHECK(client.lists() == 2);
  informer.stop();
}
