// Leader election on a real Lease with short timings (2 s lease, 1 s renew
// deadline, 0.5 s retry): one leader at a time, and a takeover within the
// lease time when the leader stops, gracefully or not.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "client_env.h"
#include "kube/leader_election.h"
#include "kube/object.h"

using namespace wscp;
using namespace wscp::kube;
using namespace wscp::kube::testing;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

LeaderElectionConfig short_config(const std::string& ns, const std::string& identity, bool release) {
  LeaderElectionConfig c;
  c.lease_namespace = ns;
  c.lease_name = "wscp-controller";
  c.identity = identity;
  c.lease_duration = 2s;
  c.renew_deadline = 1s;
  c.retry_period = 500ms;
  c.release_on_cancel = release;
  return c;
}

// One candidate on its own thread, with its own client.
struct Candidate {
  std::unique_ptr<KubeClient> client;
  std::unique_ptr<LeaderElector> elector;
  CancelToken cancel;
  std::thread thread;
  Status result = Ok{};
  std::atomic<int> started{0};
  std::atomic<int> stopped{0};
  std::shared_ptr<CancelToken> work;
  std::mutex mu;
  steady::time_point stopped_at{};

  Candidate(const KubeEnv& kube, const std::string& ns, const std::string& identity, bool release = true) {
    ClientOptions o;
    o.request_timeout = 1s;
    client = admin_client(kube, o);
    LeaderCallbacks cb;
    cb.on_started_leading = [this](std::shared_ptr<CancelToken> w) {
      std::lock_guard lock(mu);
      work = std::move(w);
      ++started;
    };
    cb.on_stopped_leading = [this] {
      std::lock_guard lock(mu);
      stopped_at = steady::now();
      ++stopped;
    };
    elector = std::make_unique<LeaderElector>(*client, short_config(ns, identity, release), cb);
    thread = std::thread([this] { result = elector->run(cancel); });
  }
  ~Candidate() { stop(); }
  void stop() {
    cancel.cancel();
    if (thread.joinable()) thread.join();
  }
  bool work_cancelled() {
    std::lock_guard lock(mu);
    return work && work->cancelled();
  }
};

LeaseRecord read_lease(KubeClient& client, const std::string& ns) {
  auto l = client.get(resources::kLeases, ns, "wscp-controller");
  REQUIRE_MESSAGE(l.ok(), l.error().describe());
  return LeaseRecord::from_lease(*l);
}

// Waits for one leader, checks for `hold` that there is never a second, and
// returns it (first or second).
int single_leader(Candidate& a, Candidate& b, std::chrono::milliseconds hold) {
  REQUIRE(eventually([&] { return a.elector->is_leader() || b.elector->is_leader(); }, 20s, 5ms));
  const auto until = steady::now() + hold;
  while (steady::now() < until) {
    REQUIRE_FALSE((a.elector->is_leader() && b.elector->is_leader()));
    std::this_thread::sleep_for(5ms);
  }
  REQUIRE(a.elector->is_leader() != b.elector->is_leader());
  return a.elector->is_leader() ? 0 : 1;
}

}  // namespace

TEST_CASE("leader: two electors, one leader; the other takes over at once when the leader stops and releases") {
  KubeEnv kube;
  auto admin = admin_client(kube);
  const std::string ns = fresh_namespace(*admin, "wscp-leader");
  Candidate a(kube, ns, "candidate-a");
  Candidate b(kube, ns, "candidate-b");
  const int first = single_leader(a, b, 3s);  // longer than the lease: renewals keep it
  Candidate& leader = first == 0 ? a : b;
  Candidate& other = first == 0 ? b : a;
  const LeaseRecord before = read_lease(*admin, ns);
  CHECK(before.holder == (first == 0 ? "candidate-a" : "candidate-b"));
  CHECK(before.lease_duration_seconds == 2);

  const auto stopped = steady::now();
  leader.stop();
  CHECK(leader.result.ok());
  CHECK(leader.stopped == 1);
  CHECK(leader.work_cancelled());
  REQUIRE(eventually([&] { return other.elector->is_leader(); }, 10s, 5ms));
  const auto takeover = steady::now() - stopped;
  MESSAGE("takeover after a release: " << std::chrono::duration_cast<std::chrono::milliseconds>(takeover).count()
                                       << " ms");
  CHECK(takeover < 2s);  // released: no waiting for the lease to expire
  const LeaseRecord after = read_lease(*admin, ns);
  CHECK(after.holder == (first == 0 ? "candidate-b" : "candidate-a"));
  CHECK(after.transitions == before.transitions + 1);
}

TEST_CASE("leader: a leader that vanishes without releasing is replaced within the lease time") {
  KubeEnv kube;
  auto admin = admin_client(kube);
  const std::string ns = fresh_namespace(*admin, "wscp-leader");
  Candidate a(kube, ns, "candidate-a", /*release=*/false);
  REQUIRE(eventually([&] { return a.elector->is_leader(); }, 20s, 5ms));
  Candidate b(kube, ns, "candidate-b", false);
  // b campaigns a few times against a live leader, in vain.
  for (const auto until = steady::now() + 1500ms; steady::now() < until; std::this_thread::sleep_for(5ms)) {
    REQUIRE_FALSE(b.elector->is_leader());
  }
  CHECK(b.elector->observed_holder() == "candidate-a");

  const auto stopped = steady::now();
  a.stop();  // no release: as if the process died
  CHECK(read_lease(*admin, ns).holder == "candidate-a");
  REQUIRE(eventually([&] { return b.elector->is_leader(); }, 10s, 5ms));
  const auto takeover = steady::now() - stopped;
  MESSAGE("takeover without a release: " << std::chrono::duration_cast<std::chrono::milliseconds>(takeover).count()
                                         << " ms");
  CHECK(takeover < 2s + 500ms + 500ms);  // the lease, one retry period, the requests
  CHECK(takeover > 1s);                  // it did wait for the lease to expire
  CHECK(read_lease(*admin, ns).holder == "candidate-b");
}

TEST_CASE("leader: losing the lease to someone else stops the work at once") {
  KubeEnv kube;
  auto admin = admin_client(kube);
  const std::string ns = fresh_namespace(*admin, "wscp-leader");
  Candidate a(kube, ns, "candidate-a");
  REQUIRE(eventually([&] { return a.elector->is_leader(); }, 20s, 5ms));
  CHECK_FALSE(a.work_cancelled());

  auto lease = admin->get(resources::kLeases, ns, "wscp-controller");
  REQUIRE(lease.ok());
  (*lease)["spec"]["holderIdentity"] = "usurper";
  (*lease)["spec"]["leaseDurationSeconds"] = 60;
  const auto taken = steady::now();
  REQUIRE(admin->update(resources::kLeases, *lease).ok());
  REQUIRE(eventually([&] { return a.stopped == 1; }, 10s, 2ms));
  std::chrono::steady_clock::time_point stopped_at;
  {
    std::lock_guard lock(a.mu);
    stopped_at = a.stopped_at;
  }
  MESSAGE("stopped " << std::chrono::duration_cast<std::chrono::milliseconds>(stopped_at - taken).count()
                     << " ms after the lease was taken");
  CHECK(stopped_at - taken < 500ms + 500ms);  // the next renewal, and its request
  CHECK(a.work_cancelled());
  CHECK_FALSE(a.elector->is_leader());
  a.thread.join();
  CHECK_FALSE(a.result.ok());
  CHECK(a.result.error().message().find("\"usurper\"") != std::string::npos);
  CHECK(read_lease(*admin, ns).holder == "usurper");  // the loser does not touch it
}
