#include "kube/leader_election.h"

#include <doctest/doctest.h>

#include "common/fake_clock.h"
#include "fake_kube_client.h"
#include "kube/micro_time.h"

using namespace wscp;
using namespace wscp::kube;
using wscp::kube::testing::FakeKubeClient;
using namespace std::chrono_literals;

namespace {

LeaderElectionConfig config(const std::string& identity) {
  LeaderElectionConfig c;
  c.lease_namespace = "wscp-system";
  c.lease_name = "wscp-controller";
  c.identity = identity;
  return c;  // 15 s / 10 s / 2 s
}

LeaseRecord lease(FakeKubeClient& api) {
  return LeaseRecord::from_lease(*api.stored(resources::kLeases, "wscp-system", "wscp-controller"));
}

// What the callbacks saw.
struct Calls {
  std::shared_ptr<CancelToken> work;
  int started = 0;
  int stopped = 0;
  bool work_cancelled_when_stopped = false;
  Clock::time_point started_at{}, stopped_at{};
  std::vector<std::string> leaders;
  std::function<void()> on_start;

  LeaderCallbacks callbacks(Clock& clock) {
    LeaderCallbacks cb;
    cb.on_started_leading = [this, &clock](std::shared_ptr<CancelToken> w) {
      work = std::move(w);
      ++started;
      started_at = clock.now();
      if (on_start) on_start();
    };
    cb.on_stopped_leading = [this, &clock] {
      ++stopped;
      stopped_at = clock.now();
      work_cancelled_when_stopped = work && work->cancelled();
    };
    cb.on_new_leader = [this](const std::string& holder) { leaders.push_back(holder); };
    return cb;
  }
};

}  // namespace

TEST_CASE("lease verdicts") {
  const Clock::time_point t0{};
  struct Case {
    const char* holder;
    int duration;
    std::chrono::seconds seen_for;
    LeaseVerdict verdict;
  };
  const Case cases[] = {
      {"", 15, 0s, LeaseVerdict::kFree},
      {"me", 15, 100s, LeaseVerdict::kMine},
      {"other", 15, 0s, LeaseVerdict::kHeldByOther},
      {"other", 15, 14s, LeaseVerdict::kHeldByOther},
      {"other", 15, 15s, LeaseVerdict::kExpired},
      {"other", 2, 3s, LeaseVerdict::kExpired},
  };
  for (const auto& c : cases) {
    CAPTURE(c.holder);
    CAPTURE(c.seen_for.count());
    LeaseRecord r;
    r.holder = c.holder;
    r.lease_duration_seconds = c.duration;
    CHECK(judge_lease(r, "me", t0, t0 + c.seen_for) == c.verdict);
  }
}

TEST_CASE("lease record: read from and written to a Lease's spec") {
  Json l = {{"spec",
             {{"holderIdentity", "a"}, {"leaseDurationSeconds", 15}, {"acquireTime", "2026-01-01T00:00:00.000000Z"},
              {"renewTime", "2026-01-01T00:00:10.000000Z"}, {"leaseTransitions", 3}}}};
  LeaseRecord r = LeaseRecord::from_lease(l);
  CHECK(r.holder == "a");
  CHECK(r.lease_duration_seconds == 15);
  CHECK(r.transitions == 3);
  Json out = {{"metadata", {{"name", "x"}}}};
  r.write_to(out);
  CHECK(out["spec"] == l["spec"]);
  CHECK(LeaseRecord::from_lease(Json::object()).holder.empty());
}

TEST_CASE("leader election: the first candidate creates the lease; the second waits for it to expire") {
  FakeKubeClient api;
  auto clock = std::make_shared<wscp::testing::FakeClock>();
  LeaderElector a(api, config("a"), {}, clock);
  LeaderElector b(api, config("b"), {}, clock);

  REQUIRE(*a.try_acquire_or_renew());
  LeaseRecord r = lease(api);
  CHECK(r.holder == "a");
  CHECK(r.lease_duration_seconds == 15);
  CHECK(r.transitions == 0);
  CHECK(r.renew_time == format_micro_time(clock->wall_now()));
  CHECK(r.acquire_time == r.renew_time);

  CHECK_FALSE(*b.try_acquire_or_renew());
  CHECK(b.observed_holder() == "a");
  clock->sleep_for(10s);
  CHECK_FALSE(*b.try_acquire_or_renew());  // a is silent, but not for 15 s yet
  // a renews: b's wait starts again from when it saw the change.
  REQUIRE(*a.try_acquire_or_renew());
  clock->sleep_for(6s);
  CHECK_FALSE(*b.try_acquire_or_renew());
  clock->sleep_for(14s);
  CHECK_FALSE(*b.try_acquire_or_renew());
  clock->sleep_for(1s);
  CHECK(*b.try_acquire_or_renew());
  r = lease(api);
  CHECK(r.holder == "b");
  CHECK(r.transitions == 1);
  CHECK(r.acquire_time == r.renew_time);
  // a finds out at its next attempt.
  CHECK_FALSE(*a.try_acquire_or_renew());
  CHECK(a.observed_holder() == "b");
}

TEST_CASE("leader election: renewing keeps acquireTime and transitions") {
  FakeKubeClient api;
  auto clock = std::make_shared<wscp::testing::FakeClock>();
  LeaderElector a(api, config("a"), {}, clock);
  REQUIRE(*a.try_acquire_or_renew());
  const LeaseRecord first = lease(api);
  clock->sleep_for(2s);
  REQUIRE(*a.try_acquire_or_renew());
  const LeaseRecord second = lease(api);
  CHECK(second.acquire_time == first.acquire_time);
  CHECK(second.renew_time != first.renew_time);
  CHECK(second.transitions == 0);
}

TEST_CASE("leader election: two candidates racing to create the lease: one wins, the other is told no") {
  FakeKubeClient api;
  auto clock = std::make_shared<wscp::testing::FakeClock>();
  LeaderElector a(api, config("a"), {}, clock);
  LeaderElector b(api, config("b"), {}, clock);
  REQUIRE(*a.try_acquire_or_renew());
  // b read before a created it, so b tries to create it too.
  api.fail_next("get", FakeKubeClient::api(404, "NotFound", "leases \"wscp-controller\" not found"));
  auto r = b.try_acquire_or_renew();
  REQUIRE_MESSAGE(r.ok(), r.error().describe());
  CHECK_FALSE(*r);
  CHECK(api.calls("create") == 2);
  CHECK(lease(api).holder == "a");
}

TEST_CASE("leader election: renewals failing past the renew deadline stop the work at once") {
  FakeKubeClient api;
  auto clock = std::make_shared<wscp::testing::FakeClock>();
  Calls calls;
  calls.on_start = [&] { api.fail_next("update", FakeKubeClient::api(503, "ServiceUnavailable", "etcd down"), 1000); };
  LeaderElector a(api, config("a"), calls.callbacks(*clock), clock);
  CancelToken cancel;
  Status s = a.run(cancel);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code() == ErrorCode::kDeadlineExceeded);
  CHECK(s.error().message().find("wscp-system/wscp-controller") != std::string::npos);
  CHECK(calls.started == 1);
  CHECK(calls.stopped == 1);
  CHECK(calls.work_cancelled_when_stopped);
  CHECK_FALSE(a.is_leader());
  // Not a moment later than the renew deadline after the last renewal.
  CHECK(calls.stopped_at - calls.started_at <= 10s + 50ms);
  CHECK(calls.stopped_at - calls.started_at >= 10s);
  CHECK(api.calls("update") >= 4);
}

TEST_CASE("leader election: another holder seen at a renewal stops the work at once") {
  FakeKubeClient api;
  auto clock = std::make_shared<wscp::testing::FakeClock>();
  Calls calls;
  calls.on_start = [&] {
    Json l = *api.stored(resources::kLeases, "wscp-system", "wscp-controller");
    l["spec"]["holderIdentity"] = "intruder";
    REQUIRE(api.update(resources::kLeases, l).ok());
  };
  LeaderElector a(api, config("a"), calls.callbacks(*clock), clock);
  CancelToken cancel;
  Status s = a.run(cancel);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code() == ErrorCode::kConflict);
  CHECK(s.error().message().find("\"intruder\"") != std::string::npos);
  CHECK(calls.work_cancelled_when_stopped);
  CHECK(calls.stopped_at - calls.started_at <= 2s + 50ms);  // the next renewal
  CHECK(calls.leaders == std::vector<std::string>{"a", "intruder"});
}

TEST_CASE("leader election: renewal failures within the renew deadline keep the lead") {
  FakeKubeClient api;
  auto clock = std::make_shared<wscp::testing::FakeClock>();  // used by the runner thread only
  Calls calls;
  CancelToken cancel;
  // Three failed renewals (at +2, +4, +6 s), then +8 s works: before the 10 s deadline.
  calls.on_start = [&] { api.fail_next("update", FakeKubeClient::api(500, "InternalError", "blip"), 3); };
  LeaderElector a(api, config("a"), calls.callbacks(*clock), clock);
  Status result = Ok{};
  std::thread runner([&] { result = a.run(cancel); });
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (api.calls("update") < 8 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  cancel.cancel();
  runner.join();
  CHECK(api.calls("update") >= 8);
  CHECK(result.ok());  // ended by the cancel, not by the failures
  CHECK(calls.started == 1);
  CHECK(calls.stopped == 1);
  CHECK(lease(api).holder.empty());  // released on the way out
}

TEST_CASE("leader election: stopping releases the lease and another takes over at once") {
  FakeKubeClient api;
  auto clock = std::make_shared<wscp::testing::FakeClock>();
  Calls calls;
  CancelToken cancel;
  calls.on_start = [&] { cancel.cancel(); };
  LeaderElector a(api, config("a"), calls.callbacks(*clock), clock);
  LeaderElector b(api, config("b"), {}, clock);
  Status s = a.run(cancel);
  REQUIRE_MESSAGE(s.ok(), s.error().describe());
  CHECK(calls.started == 1);
  CHECK(calls.stopped == 1);
  CHECK(calls.work_cancelled_when_stopped);
  LeaseRecord released = lease(api);
  CHECK(released.holder.empty());
  CHECK(released.lease_duration_seconds == 1);
  // No waiting for the lease duration.
  CHECK(*b.try_acquire_or_renew());
  CHECK(lease(api).holder == "b");
  CHECK(lease(api).transitions == 1);
}

TEST_CASE("leader election: configuration is checked") {
  FakeKubeClient api;
  auto clock = std::make_shared<wscp::testing::FakeClock>();
  struct Case {
    std::function<void(LeaderElectionConfig&)> change;
    const char* message;
  };
  const Case cases[] = {
      {[](auto& c) { c.identity.clear(); }, "identity"},
      {[](auto& c) { c.lease_name.clear(); }, "name and namespace"},
      {[](auto& c) { c.renew_deadline = c.lease_duration; }, "lease duration must be longer"},
      {[](auto& c) { c.retry_period = c.renew_deadline; }, "renew deadline must be longer"},
      {[](auto& c) { c.retry_period = 0ms; }, "retry period"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.message);
    LeaderElectionConfig cfg = config("a");
    c.change(cfg);
    LeaderElector e(api, cfg, {}, clock);
    CancelToken cancel;
    Status s = e.run(cancel);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message().find(c.message) != std::string::npos);
  }
  CHECK(api.calls("get") == 0);
}
