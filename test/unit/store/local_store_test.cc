#include "store/local_store.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "test_util.h"

using namespace wscp;
using namespace wscp::store;
using namespace wscp::store::testing;

TEST_CASE("local create_exclusive: exactly one of several racing creators wins") {
  TempDir dir;
  auto store = make_local_store(dir.path.string());
  OperationContext ctx;
  for (int round = 0; round < 20; ++round) {
    const std::string key = "locks/ws/lock-" + std::to_string(round);
    std::atomic<int> won{0}, conflicts{0}, other{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&, t] {
        auto st = store->create_exclusive(key, "holder-" + std::to_string(t), ctx);
        if (st) ++won;
        else if (st.error().code() == ErrorCode::kConflict) ++conflicts;
        else ++other;
      });
    }
    for (auto& th : threads) th.join();
    CHECK(won == 1);
    CHECK(conflicts == 5);
    CHECK(other == 0);
    auto text = get_object(*store, key, 100, ctx);
    REQUIRE(text);
    CHECK(text->rfind("holder-", 0) == 0);
  }
  // Nothing temporary is left beside the objects.
  auto listed = store->list("");
  REQUIRE(listed);
  CHECK(listed->size() == 20);
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path)) {
    CHECK(e.path().filename().string().find(".wscp-tmp-") == std::string::npos);
  }
}

TEST_CASE("local remove_if_match removes only the version it names") {
  TempDir dir;
  auto store = make_local_store(dir.path.string());
  OperationContext ctx;
  REQUIRE(store->create_exclusive("lock", "a", ctx));
  auto first = store->head("lock");
  REQUIRE(first);
  REQUIRE(*first);
  CHECK_FALSE((*first)->etag.empty());
  // Replaced by another holder: the old version's ETag no longer matches.
  REQUIRE(store->remove("lock"));
  REQUIRE(store->create_exclusive("lock", "b", ctx));
  auto second = store->head("lock");
  REQUIRE(second);
  REQUIRE(*second);
  CHECK((*second)->etag != (*first)->etag);
  auto st = store->remove_if_match("lock", (*first)->etag);
  REQUIRE_FALSE(st);
  CHECK(st.error().code() == ErrorCode::kConflict);
  CHECK(*get_object(*store, "lock", 10, ctx) == "b");
  REQUIRE(store->remove_if_match("lock", (*second)->etag));
  CHECK_FALSE(*store->head("lock"));
  st = store->remove_if_match("lock", (*second)->etag);
  REQUIRE_FALSE(st);
  CHECK(st.error().code() == ErrorCode::kNotFound);
}

TEST_CASE("local store: its clock, and objects' times by it") {
  TempDir dir;
  auto fixed = std::chrono::system_clock::from_time_t(1'900'000'000);
  auto store = make_local_store(dir.path.string(), [fixed] { return fixed; });
  CHECK(*store->now() == fixed);
  CHECK_FALSE(store->shared());
  auto before = std::chrono::system_clock::now() - std::chrono::seconds(5);
  OperationContext ctx;
  REQUIRE(put_object(*store, "a/b", "data", ctx));
  auto info = store->head("a/b");
  REQUIRE(info);
  REQUIRE(*info);
  CHECK((*info)->size == 4u);
  CHECK((*info)->last_modified > before);
  CHECK((*info)->last_modified < std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto listed = store->list("a/");
  REQUIRE(listed);
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().etag == (*info)->etag);
  CHECK(listed->front().last_modified == (*info)->last_modified);
}

TEST_CASE("local replace_if_match replaces only the version it names") {
  TempDir dir;
  auto store = make_local_store(dir.path.string());
  OperationContext ctx;
  REQUIRE(store->create_exclusive("lock", "a", ctx));
  auto first = *store->head("lock");
  REQUIRE(first);
  REQUIRE(store->replace_if_match("lock", "bb", first->etag, ctx));
  CHECK(*get_object(*store, "lock", 10, ctx) == "bb");
  auto st = store->replace_if_match("lock", "c", first->etag, ctx);
  REQUIRE_FALSE(st);
  CHECK(st.error().code() == ErrorCode::kConflict);
  CHECK(*get_object(*store, "lock", 10, ctx) == "bb");
  REQUIRE(store->remove("lock"));
  CHECK(store->replace_if_match("lock", "d", first->etag, ctx).error().code() == ErrorCode::kNotFound);
  // Of several racing to take over the same version, exactly one wins.
  REQUIRE(store->create_exclusive("lock", "e", ctx));
  auto seen = *store->head("lock");
  std::atomic<int> won{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      auto r = store->replace_if_match("lock", "taker-" + std::to_string(t), seen->etag, ctx);
      if (r) ++won;
      else if (r.error().code() == ErrorCode::kConflict) ++conflicts;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(won == 1);
  CHECK(conflicts == 5);
}
