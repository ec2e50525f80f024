#include "migration/workspace_lock.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "memory_documents.h"

namespace wscp::migration {
namespace {

using std::chrono::seconds;

store::EncryptionKey test_key(std::uint8_t fill = 3) {
  std::array<std::uint8_t, 32> bytes{};
  bytes.fill(fill);
  return store::make_key(bytes);
}

store::Keyring ring(std::uint8_t fill) { return store::Keyring({test_key(fill)}); }

}  // namespace

TEST_CASE("a workspace lock is refused to a second migration, naming the holder") {
  testing::MemoryDocuments docs;
  auto key = ring(3);
  WorkspaceLock lock(docs, key, "ws");
  auto held = lock.acquire("node-1", "c1", seconds(60));
  REQUIRE(held.ok());
  CHECK(held->held);
  auto second = lock.acquire("node-2", "c2", seconds(60));
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code() == ErrorCode::kConflict);
  CHECK(second.error().message().find("node node-1") != std::string::npos);
  CHECK(second.error().message().find("checkpoint c1") != std::string::npos);
}

TEST_CASE("the same node and checkpoint take the lock back and extend it") {
  testing::MemoryDocuments docs;
  WorkspaceLock lock(docs, store::Keyring{}, "ws");
  auto first = lock.acquire("node-1", "c1", seconds(60));
  REQUIRE(first.ok());
  docs.advance(seconds(50));
  auto again = lock.acquire("node-1", "c1", seconds(60));
  REQUIRE(again.ok());
  CHECK(again->since == first->since);
  CHECK(again->expires > first->expires);
  // The same node with another checkpoint is another migration.
  CHECK(lock.acquire("node-1", "c2", seconds(60)).error().code() == ErrorCode::kConflict);
}

TEST_CASE("an expired lock is taken over, by the store's clock") {
  testing::MemoryDocuments docs;
  WorkspaceLock lock(docs, store::Keyring{}, "ws");
  REQUIRE(lock.acquire("node-1", "c1", seconds(60)).ok());
  docs.advance(seconds(59));
  CHECK_FALSE(lock.acquire("node-2", "c2", seconds(60)).ok());
  docs.advance(seconds(2));
  auto taken = lock.acquire("node-2", "c2", seconds(60));
  REQUIRE(taken.ok());
  CHECK(taken->node == "node-2");
  // The old holder learns it lost the lock when it tries to extend it.
  CHECK(lock.acquire("node-1", "c1", seconds(60)).error().code() == ErrorCode::kConflict);
}

TEST_CASE("releasing frees the lock only for its holder") {
  testing::MemoryDocuments docs;
  WorkspaceLock lock(docs, store::Keyring{}, "ws");
  REQUIRE(lock.acquire("node-1", "c1", seconds(600)).ok());
  REQUIRE(lock.release("node-2", "c9").ok());  // not the holder: nothing happens
  CHECK(lock.current()->held);
  REQUIRE(lock.release("node-1", "c1").ok());
  CHECK_FALSE(lock.current()->held);
  REQUIRE(lock.release("node-1", "c1").ok());  // twice is fine
  CHECK(lock.acquire("node-2", "c2", seconds(60)).ok());
}

TEST_CASE("old lock generations are cleaned up as new ones are written") {
  testing::MemoryDocuments docs;
  WorkspaceLock lock(docs, store::Keyring{}, "ws");
  for (int i = 0; i < 5; ++i) {
    REQUIRE(lock.acquire("node-1", "c" + std::to_string(i), seconds(60)).ok());
    REQUIRE(lock.release("node-1", "c" + std::to_string(i)).ok());
  }
  auto keys = docs.list(lock_prefix("ws"));
  REQUIRE(keys.ok());
  CHECK(keys->size() == 2);
  CHECK(lock.current()->generation == 10);
}

TEST_CASE("of many nodes racing for a free lock exactly one gets it") {
  testing::MemoryDocuments docs;
  auto key = ring(3);
  std::atomic<int> holders{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      WorkspaceLock lock(docs, key, "ws");
      if (lock.acquire("node-" + std::to_string(i), "c" + std::to_string(i), seconds(60)).ok()) ++holders;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(holders == 1);
}

TEST_CASE("a lock document that was tampered with is refused") {
  testing::MemoryDocuments docs;
  auto key = ring(3);
  WorkspaceLock lock(docs, key, "ws");
  REQUIRE(lock.acquire("node-1", "c1", seconds(60)).ok());
  auto keys = docs.list(lock_prefix("ws"));
  REQUIRE(keys.ok());
  std::string text = docs.get(keys->back());
  text.replace(text.find("\"held\": true"), 12, "\"held\": false");
  docs.put(keys->back(), text);
  auto cur = lock.current();
  REQUIRE_FALSE(cur.ok());
  CHECK(cur.error().code() == ErrorCode::kIntegrity);
  CHECK_FALSE(lock.acquire("node-2", "c2", seconds(60)).ok());
}

}  // namespace wscp::migration
