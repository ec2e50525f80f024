#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "migration/document_log.h"
#include "store/encryption_key.h"

namespace wscp::migration {

// One migration per workspace at a time, across every node that shares the
// store. The lock is a log of generations under workspaces/<ws>/lock/: the
// highest generation is the current state, and a new state is written only
// by creating the next generation, which at most one writer can do. Taking
// over an expired lock therefore needs no delete and no compare-and-swap.
// Expiry is judged by the store's clock, never the local one.
struct LockState {
  std::uint64_t generation = 0;  // 0: never locked
  bool held = false;
  std::string node;
  std::string checkpoint_id;
  std::chrono::system_clock::time_point since{};
  std::chrono::system_clock::time_point expires{};
};

class WorkspaceLock {
 public:
  WorkspaceLock(DocumentStore& store, const store::Keyring& keys, std::string workspace_id);

  Result<LockState> current();

  // Takes the lock for (node, checkpoint) for ttl. Succeeds when it is free,
  // expired, or already held by the same node for the same checkpoint (a
  // replay after a restart: the expiry is extended). Otherwise kConflict,
  // naming the holder, its checkpoint and when the lock expires.
  Result<LockState> acquire(const std::string& node, const std::string& checkpoint_id, std::chrono::seconds ttl);

  // Frees the lock if (node, checkpoint) holds it; a no-op otherwise.
  Status release(const std::string& node, const std::string& checkpoint_id);

 private:
  Result<LockState> write_next(const LockState& current, const LockState& next);

  DocumentStore& store_;
  std::string workspace_id_;
  DocumentLog log_;
};

std::string lock_prefix(std::string_view workspace_id);

}  // namespace wscp::migration
