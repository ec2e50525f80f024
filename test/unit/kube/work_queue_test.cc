#include "kube/work_queue.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/fake_clock.h"
#include "kube/rate_limiter.h"
#include "kube/worker_pool.h"

using namespace wscp;
using namespace wscp::kube;
using namespace std::chrono_literals;
using wscp::testing::FakeClock;
using Duration = std::chrono::steady_clock::duration;

namespace {

// Polls `done` until it holds or `timeout` passes; whether it held.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// The token bucket works in floating point: delays are equal to within a microsecond.
bool near(Duration a, Duration b) { return (a > b ? a - b : b - a) < 1us; }

// A clock moved by hand that other threads may read meanwhile.
class ManualClock final : public Clock {
 public:
  time_point now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  std::chrono::system_clock::time_point wall_now() const override { return std::chrono::system_clock::now(); }
  void sleep_for(std::chrono::milliseconds d) override {
    std::lock_guard lock(mu_);
    now_ += d;
  }

 private:
  mutable std::mutex mu_;
  time_point now_{};
};

// Backoff only: the token bucket never limits.
WorkQueueOptions backoff_only(Duration base = 5ms, Duration max = 1000s) {
  WorkQueueOptions o;
  o.rate_limit.base_delay = base;
  o.rate_limit.max_delay = max;
  o.rate_limit.qps = 0;
  return o;
}

std::vector<std::string> drain_ready(WorkQueue& q) {
  std::vector<std::string> keys;
  while (auto key = q.try_get()) {
    keys.push_back(*key);
    q.done(*key);
  }
  return keys;
}

}  // namespace

TEST_CASE("work queue: a key is pending at most once, and keys come out in the order added") {
  auto clock = std::make_shared<FakeClock>();
  WorkQueue q({}, clock);
  q.add("ns/a");
  q.add("ns/b");
  q.add("ns/a");
  CHECK(q.len() == 2);
  CHECK(q.next_ready_in() == Duration::zero());
  CHECK(drain_ready(q) == std::vector<std::string>{"ns/a", "ns/b"});
  CHECK(q.len() == 0);
  CHECK_FALSE(q.next_ready_in().has_value());
}

TEST_CASE("work queue: a key added while processed is handed out again only after done()") {
  auto clock = std::make_shared<FakeClock>();
  WorkQueue q({}, clock);
  q.add("ns/a");
  REQUIRE(q.try_get() == "ns/a");
  CHECK(q.num_processing() == 1);

  q.add("ns/a");
  q.add("ns/a");  // still one pending copy
  CHECK(q.len() == 0);
  CHECK_FALSE(q.try_get().has_value());

  q.done("ns/a");
  CHECK(q.len() == 1);
  CHECK(q.num_processing() == 0);
  REQUIRE(q.try_get() == "ns/a");
  q.done("ns/a");
  CHECK_FALSE(q.try_get().has_value());

  q.done("ns/never-taken");  // ignored
  CHECK(q.len() == 0);
}

TEST_CASE("work queue: add_after releases keys in the order of their delays, by the clock") {
  auto clock = std::make_shared<FakeClock>();
  WorkQueue q({}, clock);
  q.add_after("ns/c", 30ms);
  q.add_after("ns/a", 10ms);
  q.add_after("ns/b", 20ms);
  CHECK(q.num_waiting() == 3);
  CHECK(q.len() == 0);
  CHECK(q.next_ready_in() == 10ms);
  CHECK_FALSE(q.try_get().has_value());

  clock->sleep_for(9ms);
  CHECK(q.next_ready_in() == 1ms);
  CHECK_FALSE(q.try_get().has_value());

  clock->sleep_for(6ms);  // 15 ms
  CHECK(drain_ready(q) == std::vector<std::string>{"ns/a"});
  CHECK(q.next_ready_in() == 5ms);

  clock->sleep_for(100ms);  // both due: the earlier delay first
  CHECK(q.len() == 2);
  CHECK(drain_ready(q) == std::vector<std::string>{"ns/b", "ns/c"});
  CHECK(q.num_waiting() == 0);
  CHECK_FALSE(q.next_ready_in().has_value());
}

TEST_CASE("work queue: a held-back key keeps its earliest time; no delay means now") {
  auto clock = std::make_shared<FakeClock>();
  WorkQueue q({}, clock);
  q.add_after("ns/a", 50ms);
  q.add_after("ns/a", 10ms);   // sooner: wins
  q.add_after("ns/a", 100ms);  // later: ignored
  CHECK(q.num_waiting() == 1);
  CHECK(q.next_ready_in() == 10ms);
  clock->sleep_for(10ms);
  CHECK(drain_ready(q) == std::vector<std::string>{"ns/a"});
  CHECK_FALSE(q.next_ready_in().has_value());

  q.add_after("ns/b", 0ms);
  CHECK(q.num_waiting() == 0);
  CHECK(q.len() == 1);
}

TEST_CASE("work queue: a held-back key that is already pending is not duplicated") {
  auto clock = std::make_shared<FakeClock>();
  WorkQueue q({}, clock);
  q.add("ns/a");
  q.add_after("ns/a", 10ms);
  clock->sleep_for(10ms);
  CHECK(q.len() == 1);
  CHECK(drain_ready(q) == std::vector<std::string>{"ns/a"});
}

TEST_CASE("work queue: add_rate_limited backs off per key, doubling from the base up to the cap") {
  auto clock = std::make_shared<FakeClock>();
  WorkQueue q(backoff_only(5ms, 100ms), clock);
  const std::vector<Duration> expected{5ms, 10ms, 20ms, 40ms, 80ms, 100ms, 100ms};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    q.add_rate_limited("ns/a");
    CHECK(q.num_requeues("ns/a") == i + 1);
    REQUIRE(q.next_ready_in() == expected[i]);
    clock->sleep_for(std::chrono::duration_cast<std::chrono::milliseconds>(expected[i]) - 1ms);
    CHECK_FALSE(q.try_get().has_value());
    clock->sleep_for(1ms);
    REQUIRE(q.try_get() == "ns/a");
    q.done("ns/a");
  }
  // Other keys have their own count.
  q.add_rate_limited("ns/b");
  CHECK(q.num_requeues("ns/b") == 1);
  CHECK(q.next_ready_in() == 5ms);
}

TEST_CASE("rate limiter: the default backoff starts at 5 ms and saturates at 1000 s without overflowing") {
  ExponentialBackoff backoff(RateLimiterOptions{}.base_delay, RateLimiterOptions{}.max_delay);
  CHECK(backoff.next("k") == 5ms);
  CHECK(backoff.next("k") == 10ms);
  Duration last{};
  for (int i = 0; i < 200; ++i) last = backoff.next("k");
  CHECK(last == 1000s);
  CHECK(backoff.failures("k") == 202);
  backoff.forget("k");
  CHECK(backoff.failures("k") == 0);
  CHECK(backoff.next("k") == 5ms);
}

TEST_CASE("rate limiter: the token bucket lets a burst through, then spaces calls at qps, and refills") {
  TokenBucket bucket(10, 3);
  const Clock::time_point t0{};
  CHECK(bucket.reserve(t0) == Duration::zero());
  CHECK(bucket.reserve(t0) == Duration::zero());
  CHECK(bucket.reserve(t0) == Duration::zero());
  CHECK(near(bucket.reserve(t0), 100ms));
  CHECK(near(bucket.reserve(t0), 200ms));
  // 200 ms later the debt is paid: the next token is due in 100 ms again.
  CHECK(near(bucket.reserve(t0 + 200ms), 100ms));
  // Long idle: the bucket is full again, but not fuller than the burst.
  const auto later = t0 + 60s;
  for (int i = 0; i < 3; ++i) CHECK(bucket.reserve(later) == Duration::zero());
  CHECK(near(bucket.reserve(later), 100ms));
}

TEST_CASE("rate limiter: defaults are 10 qps with a burst of 100, and the larger delay wins") {
  RateLimiter limiter;
  const Clock::time_point t0{};
  for (int i = 0; i < 100; ++i) REQUIRE(limiter.when("ns/k" + std::to_string(i), t0) == 5ms);
  CHECK(near(limiter.when("ns/k100", t0), 100ms));
  CHECK(near(limiter.when("ns/k101", t0), 200ms));
  // A key deep in backoff waits for its backoff, not the bucket.
  for (int i = 0; i < 10; ++i) (void)limiter.when("ns/slow", t0 + 3600s);
  CHECK(limiter.when("ns/slow", t0 + 3600s) == 5ms * 1024);
}

TEST_CASE("work queue: the token bucket spreads out a burst of failures across keys") {
  auto clock = std::make_shared<FakeClock>();
  WorkQueueOptions options;
  options.rate_limit.base_delay = 1ms;
  options.rate_limit.qps = 10;
  options.rate_limit.burst = 3;
  WorkQueue q(options, clock);
  for (const char* key : {"ns/a", "ns/b", "ns/c", "ns/d", "ns/e"}) q.add_rate_limited(key);
  CHECK(q.num_waiting() == 5);

  clock->sleep_for(1ms);
  CHECK(drain_ready(q) == std::vector<std::string>{"ns/a", "ns/b", "ns/c"});
  clock->sleep_for(98ms);  // 99 ms
  CHECK(q.len() == 0);
  clock->sleep_for(1ms);  // 100 ms
  CHECK(drain_ready(q) == std::vector<std::string>{"ns/d"});
  clock->sleep_for(100ms);
  CHECK(drain_ready(q) == std::vector<std::string>{"ns/e"});
}

TEST_CASE("work queue: forget() resets a key's backoff") {
  auto clock = std::make_shared<FakeClock>();
  WorkQueue q(backoff_only(), clock);
  for (int i = 0; i < 3; ++i) {
    q.add_rate_limited("ns/a");
    clock->sleep_for(1s);
    REQUIRE(drain_ready(q) == std::vector<std::string>{"ns/a"});
  }
  CHECK(q.num_requeues("ns/a") == 3);
  q.forget("ns/a");
  CHECK(q.num_requeues("ns/a") == 0);
  q.add_rate_limited("ns/a");
  CHECK(q.next_ready_in() == 5ms);
}

TEST_CASE("work queue: the observer sees depth, queue latency, work duration and retries") {
  struct Recorder : WorkQueueObserver {
    std::vector<std::size_t> depths;
    std::vector<Duration> latencies, durations;
    int adds = 0, retries = 0;
    void on_depth(std::size_t depth) override { depths.push_back(depth); }
    void on_add() override { ++adds; }
    void on_queue_latency(Duration waited) override { latencies.push_back(waited); }
    void on_work_duration(Duration took) override { durations.push_back(took); }
    void on_retry() override { ++retries; }
  };
  auto recorder = std::make_shared<Recorder>();
  auto clock = std::make_shared<FakeClock>();
  WorkQueueOptions options = backoff_only();
  options.observer = recorder;
  WorkQueue q(options, clock);

  q.add("ns/a");
  q.add("ns/a");  // a duplicate: not an add
  q.add("ns/b");
  clock->sleep_for(3s);
  REQUIRE(q.try_get() == "ns/a");
  clock->sleep_for(2s);
  q.done("ns/a");
  REQUIRE(q.try_get() == "ns/b");
  q.done("ns/b");
  CHECK(recorder->adds == 2);
  CHECK(recorder->depths == std::vector<std::size_t>{1, 2, 1, 0});
  CHECK(recorder->latencies == std::vector<Duration>{3s, 5s});
  CHECK(recorder->durations == std::vector<Duration>{2s, 0s});

  // A held-back key's latency counts from when its delay ran out.
  q.add_after("ns/c", 10s);
  clock->sleep_for(15s);
  REQUIRE(q.try_get() == "ns/c");
  CHECK(recorder->latencies.back() == 5s);
  q.add_rate_limited("ns/c");
  CHECK(recorder->retries == 1);
}

TEST_CASE("work queue: shut_down wakes every blocked getter with nullopt") {
  WorkQueue q;  // the system clock: getters really block
  q.add_after("ns/far", 1000s);
  std::atomic<int> woken{0};
  std::atomic<int> got_key{0};
  std::vector<std::thread> getters;
  for (int i = 0; i < 3; ++i) {
    getters.emplace_back([&] {
      if (q.get().has_value()) ++got_key;
      ++woken;
    });
  }
  CHECK(woken.load() == 0);
  q.shut_down();
  CHECK(eventually([&] { return woken.load() == 3; }));
  for (auto& t : getters) t.join();
  CHECK(got_key.load() == 0);
  CHECK(q.shutting_down());

  q.add("ns/a");  // ignored
  CHECK_FALSE(q.try_get().has_value());
  CHECK_FALSE(q.get().has_value());
}

TEST_CASE("work queue: shut_down_with_drain waits for the keys being processed") {
  WorkQueue q;
  q.add("ns/a");
  q.add("ns/b");
  REQUIRE(q.try_get() == "ns/a");
  std::atomic<bool> drained{false};
  std::thread drainer([&] {
    q.shut_down_with_drain();
    drained = true;
  });
  REQUIRE(eventually([&] { return q.shutting_down(); }));
  CHECK_FALSE(q.try_get().has_value());  // nothing more is handed out
  CHECK_FALSE(drained.load());           // ns/a is still being processed
  q.done("ns/a");
  CHECK(eventually([&] { return drained.load(); }));
  drainer.join();
}

TEST_CASE("work queue: a blocked get() takes a held-back key once its time comes") {
  SUBCASE("a clock moved by hand, then recheck_clock()") {
    auto clock = std::make_shared<ManualClock>();
    WorkQueue q({}, clock);
    q.add_after("ns/a", 10s);
    std::optional<std::string> got;
    std::atomic<bool> returned{false};
    std::thread getter([&] {
      got = q.get();
      returned = true;
    });
    clock->sleep_for(10s);
    q.recheck_clock();
    CHECK(eventually([&] { return returned.load(); }));
    getter.join();
    CHECK(got == "ns/a");
  }
  SUBCASE("the system clock") {
    WorkQueue q;
    const auto start = std::chrono::steady_clock::now();
    q.add_after("ns/a", 30ms);
    CHECK(q.get() == "ns/a");
    CHECK(std::chrono::steady_clock::now() - start >= 30ms);
  }
  SUBCASE("an add wakes a getter that waits for a later key") {
    WorkQueue q;
    q.add_after("ns/later", 1000s);
    std::optional<std::string> got;
    std::thread getter([&] { got = q.get(); });
    q.add("ns/now");
    getter.join();  // would hang were the getter not woken
    CHECK(got == "ns/now");
  }
}

TEST_CASE("work queue: many workers never hold the same key at once, and every add is seen") {
  WorkQueue q;
  const std::vector<std::string> keys{"ns/a", "ns/b", "ns/c"};
  std::mutex mu;
  std::set<std::string> in_flight;
  int overlaps = 0;
  int handled = 0;
  std::atomic<bool> final_round{false};
  std::set<std::string> handled_after_final;

  WorkerPool pool(q, 8, [&](const std::string& key) {
    const bool after_final = final_round.load();
    {
      std::lock_guard lock(mu);
      if (!in_flight.insert(key).second) ++overlaps;
      ++handled;
    }
    // Hold the key for a moment so that another worker would have the chance to take it too.
    std::this_thread::sleep_for(50us);
    std::lock_guard lock(mu);
    in_flight.erase(key);
    if (after_final) handled_after_final.insert(key);
    return WorkResult::done();
  });

  std::vector<std::thread> producers;
  for (int p = 0; p < 4; ++p) {
    producers.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) q.add(keys[static_cast<std::size_t>(i) % keys.size()]);
    });
  }
  for (auto& t : producers) t.join();
  // Level-based: an add after the last one handled must lead to one more handling.
  final_round = true;
  for (const auto& key : keys) q.add(key);

  CHECK(eventually([&] {
    std::lock_guard lock(mu);
    return handled_after_final.size() == keys.size();
  }));
  CHECK(eventually([&] { return q.len() == 0 && q.num_processing() == 0; }));
  pool.stop();
  std::lock_guard lock(mu);
  CHECK(overlaps == 0);
  CHECK(handled >= static_cast<int>(keys.size()));
  CHECK(handled < 4 * 2000);  // duplicates were folded
}

TEST_CASE("finish_key: each result kind does what it says to the key") {
  auto clock = std::make_shared<FakeClock>();
  WorkQueue q(backoff_only(), clock);
  // Each key starts with one failure on record and is taken by a worker.
  auto take_after_a_failure = [&](const std::string& key) {
    q.add_rate_limited(key);
    clock->sleep_for(1s);
    REQUIRE(q.try_get() == key);
    REQUIRE(q.num_requeues(key) == 1);
  };

  SUBCASE("done: forgotten, not queued") {
    take_after_a_failure("ns/a");
    finish_key(q, "ns/a", WorkResult::done());
    CHECK(q.num_requeues("ns/a") == 0);
    CHECK(q.num_processing() == 0);
    CHECK_FALSE(q.next_ready_in().has_value());
  }
  SUBCASE("requeue_after: forgotten, back after the delay") {
    take_after_a_failure("ns/a");
    finish_key(q, "ns/a", WorkResult::requeue_after(30s));
    CHECK(q.num_requeues("ns/a") == 0);
    CHECK(q.next_ready_in() == 30s);
    clock->sleep_for(30s);
    CHECK(q.try_get() == "ns/a");
  }
  SUBCASE("retry: back after the next backoff step") {
    take_after_a_failure("ns/a");
    finish_key(q, "ns/a", WorkResult::retry(Error(ErrorCode::kUnavailable, "api down")));
    CHECK(q.num_requeues("ns/a") == 2);
    CHECK(q.next_ready_in() == 10ms);
  }
  SUBCASE("terminal: forgotten, not retried") {
    take_after_a_failure("ns/a");
    finish_key(q, "ns/a", WorkResult::terminal(Error(ErrorCode::kInvalidArgument, "bad spec")));
    CHECK(q.num_requeues("ns/a") == 0);
    CHECK(q.num_processing() == 0);
    CHECK_FALSE(q.next_ready_in().has_value());
  }
  SUBCASE("requeue_after(0) while the key was added again: one pending copy, ready at once") {
    take_after_a_failure("ns/a");
    q.add("ns/a");
    finish_key(q, "ns/a", WorkResult::requeue_after(0s));
    CHECK(q.len() == 1);
    CHECK(q.num_waiting() == 0);
  }
}

TEST_CASE("worker pool: workers apply each result kind and report failures") {
  auto clock = std::make_shared<FakeClock>();  // never moved while workers run
  WorkQueue q(backoff_only(), clock);
  // Give every key a failure on record first, so forgetting shows.
  const std::vector<std::string> keys{"ns/done", "ns/later", "ns/fail", "ns/bad", "ns/throws"};
  for (const auto& key : keys) q.add_rate_limited(key);
  clock->sleep_for(1s);
  REQUIRE(q.len() == keys.size());

  std::mutex mu;
  std::vector<std::string> calls;
  std::vector<std::string> failures;
  WorkerPool pool(
      q, 3,
      [&](const std::string& key) {
        {
          std::lock_guard lock(mu);
          calls.push_back(key);
        }
        if (key == "ns/done") return WorkResult::done();
        if (key == "ns/later") return WorkResult::requeue_after(30s);
        if (key == "ns/fail") return WorkResult::retry(Error(ErrorCode::kUnavailable, "api down"));
        if (key == "ns/bad") return WorkResult::terminal(Error(ErrorCode::kInvalidArgument, "bad spec"));
        throw std::runtime_error("boom");
      },
      [&](const std::string& key, const Error& error, bool will_retry) {
        std::lock_guard lock(mu);
        failures.push_back(key + (will_retry ? " retry: " : " terminal: ") + error.message());
      });

  REQUIRE(eventually([&] {
    std::lock_guard lock(mu);
    return calls.size() == keys.size() && q.num_processing() == 0;
  }));
  pool.stop();
  CHECK(q.shutting_down());

  std::lock_guard lock(mu);
  CHECK(std::multiset<std::string>(calls.begin(), calls.end()) ==
        std::multiset<std::string>(keys.begin(), keys.end()));
  CHECK(q.num_requeues("ns/done") == 0);
  CHECK(q.num_requeues("ns/later") == 0);
  CHECK(q.num_requeues("ns/fail") == 2);
  CHECK(q.num_requeues("ns/bad") == 0);
  CHECK(q.num_requeues("ns/throws") == 2);
  // later (30 s), fail and throws (10 ms each) are held back; done and bad are gone.
  CHECK(q.num_waiting() == 3);
  CHECK(q.len() == 0);
  std::sort(failures.begin(), failures.end());
  CHECK(failures == std::vector<std::string>{"ns/bad terminal: bad spec", "ns/fail retry: api down",
                                             "ns/throws retry: handler of ns/throws threw: boom"});
}
