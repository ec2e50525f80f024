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

store::Keyring ring(std::uint8_t fill) { return store::Keyring({test_key(fill)}); }

}  // namespace

TEST_CASE("claim transitions: one fate per checkpoint, repeats are no-ops") {
  using S = ClaimState;
  using T = ClaimStep;
  struct Row {
    S from;
    const char* holder;
    T step;
    const char* node;
    bool ok;
    S to;
    bool unchanged;
  };
  const Row rows[] = {
      {S::kNone, "", T::kBeginRestore, "b", true, S::kRestoring, false},
      {S::kNone, "", T::kBeginResume, "a", true, S::kResuming, false},
      {S::kNone, "", T::kFinishRestore, "b", false, S::kNone, false},
      {S::kRestoring, "b", T::kBeginRestore, "b", true, S::kRestoring, true},
      {S::kRestoring, "b", T::kBeginRestore, "c", false, S::kNone, false},
      {S::kRestoring, "b", T::kBeginResume, "a", false, S::kNone, false},
      {S::kRestoring, "b", T::kFinishRestore, "b", true, S::kRestored, false},
      {S::kRestoring, "b", T::kAbandonRestore, "b", true, S::kAbandoned, false},
      {S::kRestoring, "b", T::kAbandonRestore, "a", false, S::kNone, false},
      {S::kRestoring, "b", T::kForceAbandon, "admin", true, S::kAbandoned, false},
      {S::kRestored, "b", T::kBeginResume, "a", false, S::kNone, false},
      {S::kRestored, "b", T::kForceAbandon, "admin", false, S::kNone, false},
      {S::kRestored, "b", T::kFinishRestore, "b", true, S::kRestored, true},
      {S::kAbandoned, "b", T::kBeginResume, "a", true, S::kResuming, false},
      {S::kAbandoned, "b", T::kBeginRestore, "c", true, S::kRestoring, false},
      {S::kResuming, "a", T::kBeginRestore, "b", false, S::kNone, false},
      {S::kResuming, "a", T::kForceAbandon, "admin", false, S::kNone, false},
      {S::kResuming, "a", T::kFinishResume, "a", true, S::kResumed, false},
      {S::kResumed, "a", T::kBeginRestore, "b", false, S::kNone, false},
      {S::kResumed, "a", T::kBeginResume, "a", false, S::kNone, false},
  };
  for (const auto& r : rows) {
    Claim cur{r.from, r.holder, "", {}, r.from == S::kNone ? 0u : 1u};
    bool unchanged = false;
    auto next = next_claim_state(cur, r.step, r.node, unchanged);
    CAPTURE(to_string(r.from));
    CAPTURE(static_cast<int>(r.step));
    CAPTURE(r.node);
    REQUIRE(next.ok() == r.ok);
    if (r.ok) {
      CHECK(*next == r.to);
      CHECK(unchanged == r.unchanged);
    } else {
      CHECK(next.error().code() == ErrorCode::kConflict);
    }
  }
}

TEST_CASE("a failed restore is abandoned, then the source resumes; the stale checkpoint cannot be restored") {
  testing::MemoryDocuments docs;
  auto key = ring(7);
  ClaimLog claim(docs, key, "ws", "c1");
  REQUIRE(claim.take(ClaimStep::kBeginRestore, "node-2").ok());
  auto resume_early = claim.take(ClaimStep::kBeginResume, "node-1");
  REQUIRE_FALSE(resume_early.ok());
  CHECK(resume_early.error().message().find("restoring by node node-2") != std::string::npos);
  REQUIRE(claim.take(ClaimStep::kAbandonRestore, "node-2", "CRIU failed").ok());
  REQUIRE(claim.take(ClaimStep::kBeginResume, "node-1").ok());
  REQUIRE(claim.take(ClaimStep::kFinishResume, "node-1").ok());
  auto cur = claim.current();
  REQUIRE(cur.ok());
  CHECK(cur->state == ClaimState::kResumed);
  CHECK(claim.take(ClaimStep::kBeginRestore, "node-3").error().code() == ErrorCode::kConflict);
}

TEST_CASE("of many racing claimants exactly one begins") {
  testing::MemoryDocuments docs;
  auto key = ring(7);
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      ClaimLog claim(docs, key, "ws", "c1");
      auto step = i % 2 == 0 ? ClaimStep::kBeginRestore : ClaimStep::kBeginResume;
      if (claim.take(step, "node-" + std::to_string(i)).ok()) ++wins;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(wins == 1);
}

TEST_CASE("a forged or transplanted claim is refused") {
  testing::MemoryDocuments docs;
  auto key = ring(7);
  auto other = ring(9);
  ClaimLog forged_log(docs, other, "ws", "c1");
  REQUIRE(forged_log.take(ClaimStep::kBeginResume, "evil").ok());
  ClaimLog claim(docs, key, "ws", "c1");
  auto forged = claim.take(ClaimStep::kBeginRestore, "node-2");
  REQUIRE_FALSE(forged.ok());
  CHECK(forged.error().code() == ErrorCode::kPermissionDenied);

  // A genuine claim of checkpoint c2 copied over c3's.
  ClaimLog c2(docs, key, "ws", "c2");
  REQUIRE(c2.take(ClaimStep::kBeginResume, "node-1").ok());
  auto keys = docs.list(claim_prefix("ws", "c2"));
  REQUIRE(keys.ok());
  REQUIRE(keys->size() == 1);
  const std::string copied_key = claim_prefix("ws", "c3") + keys->front().substr(claim_prefix("ws", "c2").size());
  docs.put(copied_key, docs.get(keys->front()));
  auto copied = ClaimLog(docs, key, "ws", "c3").current();
  REQUIRE_FALSE(copied.ok());
  CHECK(copied.error().code() == ErrorCode::kIntegrity);
  CHECK(copied.error().message().find("copied") != std::string::npos);
}

}  // namespace wscp::migration
