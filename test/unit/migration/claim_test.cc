#include "migration/claim.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "memory_documents.h"

namespace wscp::migration {
namespace {

store::EncryptionKey test_key(std::uint8_t fill = 7) {
  std::array<std::uint8_t, 32> bytes{};
  bytes.fill(fill);
  return store::make_key(bytes);
}

}  // namespace

TEST_CASE("the first claim wins; the other action is refused, naming the winner") {
  testing::MemoryDocuments docs;
  auto key = test_key();
  auto restore = take_claim(docs, &key, ClaimAction::kRestore, "node-2", "ws", "c1");
  REQUIRE(restore.ok());
  auto resume = take_claim(docs, &key, ClaimAction::kResume, "node-1", "ws", "c1");
  REQUIRE_FALSE(resume.ok());
  CHECK(resume.error().code() == ErrorCode::kConflict);
  CHECK(resume.error().message().find("restore by node node-2") != std::string::npos);
  // Another node cannot restore the same checkpoint either.
  CHECK(take_claim(docs, &key, ClaimAction::kRestore, "node-3", "ws", "c1").error().code() == ErrorCode::kConflict);
}

TEST_CASE("taking a claim again for the same action and node carries on") {
  testing::MemoryDocuments docs;
  auto key = test_key();
  auto first = take_claim(docs, &key, ClaimAction::kResume, "node-1", "ws", "c1");
  REQUIRE(first.ok());
  docs.advance(std::chrono::seconds(30));
  auto again = take_claim(docs, &key, ClaimAction::kResume, "node-1", "ws", "c1");
  REQUIRE(again.ok());
  CHECK(again->at == first->at);  // the original claim, not a new one
  auto read = read_claim(docs, &key, "ws", "c1");
  REQUIRE(read.ok());
  REQUIRE(read->has_value());
  CHECK((*read)->action == ClaimAction::kResume);
}

TEST_CASE("of many racing claimants exactly one wins") {
  testing::MemoryDocuments docs;
  auto key = test_key();
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto action = i % 2 == 0 ? ClaimAction::kRestore : ClaimAction::kResume;
      if (take_claim(docs, &key, action, "node-" + std::to_string(i), "ws", "c1").ok()) ++wins;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(wins == 1);
}

TEST_CASE("a forged or transplanted claim is refused") {
  testing::MemoryDocuments docs;
  auto key = test_key();
  auto other = test_key(9);
  REQUIRE(take_claim(docs, &other, ClaimAction::kResume, "evil", "ws", "c1").ok());
  auto forged = take_claim(docs, &key, ClaimAction::kRestore, "node-2", "ws", "c1");
  REQUIRE_FALSE(forged.ok());
  CHECK(forged.error().code() == ErrorCode::kPermissionDenied);

  // A genuine claim of checkpoint c2 copied over c3's.
  REQUIRE(take_claim(docs, &key, ClaimAction::kRestore, "node-2", "ws", "c2").ok());
  docs.put(claim_key("ws", "c3"), docs.get(claim_key("ws", "c2")));
  auto copied = read_claim(docs, &key, "ws", "c3");
  REQUIRE_FALSE(copied.ok());
  CHECK(copied.error().code() == ErrorCode::kIntegrity);
  CHECK(copied.error().message().find("copied") != std::string::npos);
}

}  // namespace wscp::migration
