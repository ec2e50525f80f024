#include "kube/informer.h"

#include <doctest/doctest.h>

#include <mutex>

#include "fake_kube_client.h"

using namespace wscp;
using namespace wscp::kube;
using wscp::kube::testing::FakeKubeClient;
using namespace std::chrono_literals;

namespace {

const Resource& kWsc = resources::kWorkspaceCheckpoints;

Json wsc(const std::string& name) { return {{"metadata", {{"name", name}, {"namespace", "ns"}}}, {"spec", {{"n", 0}}}}; }

// What the handlers saw, in order; wait_for() polls with a deadline.
struct Seen {
  std::mutex mu;
  std::vector<std::string> log;
  int resyncs = 0;

  InformerHandlers handlers() {
    InformerHandlers h;
    h.on_add = [this](const Json& o) { add("add " + name_of(o)); };
    h.on_update = [this](const Json& old, const Json& now) {
      std::lock_guard lock(mu);
      if (resource_version_of(old) == resource_version_of(now)) ++resyncs;
      else log.push_back("update " + name_of(now) + " " + now["spec"].dump());
    };
    h.on_delete = [this](const Json& o) { add("delete " + name_of(o)); };
    return h;
  }
  void add(std::string s) {
    std::lock_guard lock(mu);
    log.push_back(std::move(s));
  }
  bool wait_for(const std::function<bool(const std::vector<std::string>&, int)>& done,
                std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mu);
        if (done(log, resyncs)) return true;
      }
      std::this_thread::sleep_for(2ms);
    }
    return false;
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(mu);
    return log;
  }
};

InformerOptions fast() {
  InformerOptions o;
  o.watch.backoff.initial = 10ms;
  o.watch.backoff.max = 50ms;
  return o;
}

}  // namespace

TEST_CASE("informer: syncs the initial list, then hands every change to the handlers in order") {
  FakeKubeClient api;
  REQUIRE(api.create(kWsc, wsc("a")).ok());
  REQUIRE(api.create(kWsc, wsc("b")).ok());
  Informer informer(api, kWsc, "ns", fast());
  Seen seen;
  informer.add_handlers(seen.handlers());
  CHECK_FALSE(informer.has_synced());
  informer.start();
  REQUIRE(informer.wait_for_sync(10s));
  CHECK(seen.snapshot() == std::vector<std::string>{"add a", "add b"});
  CHECK(informer.get("ns", "a").has_value());

  REQUIRE(api.create(kWsc, wsc("c")).ok());
  Json a = *api.stored(kWsc, "ns", "a");
  a["spec"]["n"] = 1;
  REQUIRE(api.update(kWsc, a).ok());
  REQUIRE(api.remove(kWsc, "ns", "b").ok());
  REQUIRE(seen.wait_for([](const auto& log, int) { return log.size() == 5; }));
  CHECK(seen.snapshot() ==
        std::vector<std::string>{"add a", "add b", "add c", "update a {\"n\":1}", "delete b"});
  CHECK(informer.list().size() == 2);
  CHECK_FALSE(informer.get("ns", "b").has_value());
  informer.stop();
}

TEST_CASE("informer: after an outage and a compaction, the relist reports what was missed, deletes included") {
  FakeKubeClient api;
  REQUIRE(api.create(kWsc, wsc("a")).ok());
  REQUIRE(api.create(kWsc, wsc("b")).ok());
  Informer informer(api, kWsc, "ns", fast());
  Seen seen;
  informer.add_handlers(seen.handlers());
  informer.start();
  REQUIRE(informer.wait_for_sync(10s));
  REQUIRE(seen.wait_for([&](const auto&, int) { return api.running_watches() == 1; }));

  // The server goes away; meanwhile b is deleted, c created, and the history
  // compacted; then it is back.
  api.fail_always("watch", Error(ErrorCode::kUnavailable, "connection refused"));
  api.end_watches(Error(ErrorCode::kUnavailable, "connection reset"));
  REQUIRE(seen.wait_for([&](const auto&, int) { return api.running_watches() == 0; }));
  REQUIRE(api.remove(kWsc, "ns", "b").ok());
  REQUIRE(api.create(kWsc, wsc("c")).ok());
  api.compact();
  REQUIRE(seen.wait_for([&](const auto&, int) { return api.calls("watch") >= 3; }));
  api.clear_faults("watch");

  REQUIRE(seen.wait_for([](const auto& log, int) { return log.size() == 4; }));
  auto log = seen.snapshot();
  CHECK(log[2] == "add c");
  CHECK(log[3] == "delete b");
  CHECK(api.calls("list") == 2);
  REQUIRE(informer.last_error().has_value());
  informer.stop();
}

TEST_CASE("informer: resync hands every cached object to on_update again") {
  FakeKubeClient api;
  REQUIRE(api.create(kWsc, wsc("a")).ok());
  REQUIRE(api.create(kWsc, wsc("b")).ok());
  InformerOptions o = fast();
  o.resync_period = 20ms;
  Informer informer(api, kWsc, "ns", o);
  Seen seen;
  informer.add_handlers(seen.handlers());
  informer.start();
  REQUIRE(informer.wait_for_sync(10s));
  CHECK(seen.wait_for([](const auto&, int resyncs) { return resyncs >= 4; }));
  informer.stop();
}

TEST_CASE("informer: stop() returns promptly while a watch is open, and handlers stop") {
  FakeKubeClient api;
  Informer informer(api, kWsc, "ns", fast());
  Seen seen;
  informer.add_handlers(seen.handlers());
  informer.start();
  REQUIRE(informer.wait_for_sync(10s));
  const auto t0 = std::chrono::steady_clock::now();
  informer.stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  // Both threads are joined: nothing can reach the handlers any more.
  REQUIRE(api.create(kWsc, wsc("late")).ok());
  CHECK(seen.snapshot().empty());
  CHECK(api.running_watches() == 0);
  informer.stop();  // idempotent
}
