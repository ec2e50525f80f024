#include "kube/watcher.h"

#include <doctest/doctest.h>

#include "common/fake_clock.h"
#include "fake_kube_client.h"

using namespace wscp;
using namespace wscp::kube;
using wscp::kube::testing::FakeKubeClient;

namespace {

const Resource& kPods = resources::kPods;

Json pod(const std::string& name) { return {{"metadata", {{"name", name}, {"namespace", "ns"}}}}; }

// Records what the watcher delivers; runs `step` after every delivery.
struct Recorder : WatchConsumer {
  std::vector<std::string> log;
  std::vector<Error> errors;
  std::function<void()> step;
  void replace(std::vector<Json> items, const std::string& rv) override {
    std::string line = "replace@" + rv + ":";
    for (const auto& i : items) line += " " + name_of(i);
    log.push_back(line);
    if (step) step();
  }
  void apply(const WatchEvent& e) override {
    log.push_back(std::string(to_string(e.type)) + " " + name_of(e.object) + "@" + resource_version_of(e.object));
    if (step) step();
  }
  void failed(const Error& e) override {
    errors.push_back(e);
    if (step) step();
  }
};

WatcherOptions options() {
  WatcherOptions o;
  o.page_size = 2;
  o.backoff.jitter = 0;
  return o;
}

}  // namespace

TEST_CASE("watcher: lists in pages, then sees every change in order") {
  FakeKubeClient api;
  for (const char* n : {"a", "b", "c"}) REQUIRE(api.create(kPods, pod(n)).ok());
  auto clock = std::make_shared<wscp::testing::FakeClock>();
  Watcher w(api, kPods, "ns", options(), clock);
  Recorder r;
  CancelToken cancel;
  r.step = [&] {
    if (r.log.size() == 1) {
      REQUIRE(api.create(kPods, pod("d")).ok());
      Json b = *api.stored(kPods, "ns", "b");
      b["spec"] = {{"x", 1}};
      REQUIRE(api.update(kPods, b).ok());
      REQUIRE(api.remove(kPods, "ns", "a").ok());
    }
    if (r.log.size() == 4) cancel.cancel();
  };
  Status s = w.run(cancel, r);
  CHECK(s.error().code() == ErrorCode::kCancelled);
  REQUIRE(r.log.size() == 4);
  CHECK(r.log[0] == "replace@103: a b c");
  CHECK(r.log[1] == "ADDED d@104");
  CHECK(r.log[2] == "MODIFIED b@105");
  CHECK(r.log[3] == "DELETED a@106");
  CHECK(api.calls("list") == 2);  // two pages
}

TEST_CASE("watcher: 410 Gone makes it list again") {
  FakeKubeClient api;
  REQUIRE(api.create(kPods, pod("a")).ok());
  auto clock = std::make_shared<wscp::testing::FakeClock>();
  Watcher w(api, kPods, "ns", options(), clock);
  Recorder r;
  CancelToken cancel;
  int step = 0;
  r.step = [&] {
    ++step;
    if (step == 1) {
      // While nobody watches: a change, then the history is compacted away.
      REQUIRE(api.create(kPods, pod("b")).ok());
      api.compact();
    } else if (step == 2) {
      CHECK(r.errors.size() == 1);
      CHECK(is_gone(r.errors[0]));
    } else if (step == 3) {
      cancel.cancel();
    }
  };
  (void)w.run(cancel, r);
  REQUIRE(r.log.size() == 2);
  CHECK(r.log[0] == "replace@101: a");
  CHECK(r.log[1] == "replace@102: a b");
  CHECK(w.state().lists() == 2);
}

TEST_CASE("watcher: bookmarks move the version the next watch starts from, without events") {
  FakeKubeClient api;
  auto clock = std::make_shared<wscp::testing::FakeClock>();
  WatcherOptions o = options();
  o.watch_timeout_seconds = 1;  // the fake ends each watch after a second
  Watcher w(api, kPods, "ns", o, clock);
  Recorder r;
  CancelToken cancel;
  r.step = [&] { api.bookmark(kPods); };
  std::thread stopper([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (api.watch_versions().size() < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    cancel.cancel();
  });
  (void)w.run(cancel, r);
  stopper.join();
  CHECK(r.log.size() == 1);  // bookmarks are not handed on
  const auto versions = api.watch_versions();
  REQUIRE(versions.size() >= 2);
  CHECK(versions[0] == "100");
  CHECK(versions[1] == "101");
}

TEST_CASE("watcher: reconnects after errors and closed streams from the last version, backing off") {
  FakeKubeClient api;
  REQUIRE(api.create(kPods, pod("a")).ok());
  auto clock = std::make_shared<wscp::testing::FakeClock>();
  Watcher w(api, kPods, "ns", options(), clock);
  Recorder r;
  CancelToken cancel;
  const auto start = clock->now();
  api.fail_next("watch", Error(ErrorCode::kUnavailable, "connection refused"), 3);
  r.step = [&] {
    if (r.errors.size() == 3 && r.log.size() == 1) REQUIRE(api.create(kPods, pod("b")).ok());
    if (r.log.size() == 2) cancel.cancel();
  };
  (void)w.run(cancel, r);
  REQUIRE(r.log.size() == 2);
  CHECK(r.log[1] == "ADDED b@102");
  CHECK(api.calls("list") == 1);  // errors do not relist
  CHECK(api.calls("watch") == 4);
  // Backoff 0.5 + 1 + 2 s on the fake clock.
  CHECK(clock->now() - start >= std::chrono::milliseconds(3500));
}

TEST_CASE("watcher: a failing list is retried until it works") {
  FakeKubeClient api;
  auto clock = std::make_shared<wscp::testing::FakeClock>();
  Watcher w(api, kPods, "ns", options(), clock);
  Recorder r;
  CancelToken cancel;
  api.fail_next("list", FakeKubeClient::api(403, "Forbidden", "cannot list pods"), 2);
  r.step = [&] {
    if (!r.log.empty()) cancel.cancel();
  };
  (void)w.run(cancel, r);
  CHECK(r.errors.size() == 2);
  CHECK(is_forbidden(r.errors[0]));
  CHECK(r.log.size() == 1);
}
