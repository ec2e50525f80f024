#include "agent/operations/memory_budget.h"

#include <doctest/doctest.h>

#include <thread>

using namespace wscp;
using namespace wscp::agent::operations;
using namespace std::chrono_literals;

TEST_CASE("operations: the memory budget admits what fits and waits for the rest") {
  MemoryBudget budget(100);
  auto a = budget.acquire(60);
  REQUIRE(a.ok());
  std::atomic<bool> admitted{false};
  std::thread t([&] {
    auto b = budget.acquire(60);
    REQUIRE(b.ok());
    admitted = true;
  });
  std::this_thread::sleep_for(50ms);  // the waiter must still wait: nothing was given back
  CHECK_FALSE(admitted.load());
  a->release();
  t.join();
  CHECK(admitted.load());
  CHECK(budget.peak() == 60);
  CHECK(budget.in_use() == 0);

  auto huge = budget.acquire(1000);  // larger than the budget: alone
  REQUIRE(huge.ok());
  CHECK(huge->bytes() == 100);
}

TEST_CASE("operations: a waiter cancelled while waiting gets kCancelled and leaves the queue") {
  MemoryBudget budget(10);
  auto a = budget.acquire(10);
  REQUIRE(a.ok());
  CancelToken cancel;
  std::thread t([&] {
    auto b = budget.acquire(5, &cancel);
    REQUIRE_FALSE(b.ok());
    CHECK(b.error().code() == ErrorCode::kCancelled);
  });
  cancel.cancel();
  t.join();
  a->release();
  auto c = budget.acquire(10);  // the cancelled waiter does not block the next
  CHECK(c.ok());
}
