#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/result.h"
#include "migration/document_store.h"
#include "store/encryption_key.h"

namespace wscp::migration {

// A small state machine shared by several nodes through the store: each new
// state is the next generation <prefix><generation:012>.json, created at
// most once, so racing writers are ordered by the store and exactly one of
// them wins each step. Documents are authenticated for their kind and bound
// to their generation and owner, so one cannot be replayed for another.
struct LogEntry {
  std::uint64_t generation = 0;
  nlohmann::json body;  // without the bookkeeping members
};

class DocumentLog {
 public:
  // owner: what the log belongs to ("workspace ws", "checkpoint c1"); it is
  // written into every document and checked when read.
  DocumentLog(DocumentStore& store, const store::Keyring& keys, std::string prefix, std::string kind,
              std::string owner)
      : store_(store), keys_(keys), prefix_(std::move(prefix)), kind_(std::move(kind)), owner_(std::move(owner)) {}

  // The highest generation, or nullopt when nothing was ever written.
  Result<std::optional<LogEntry>> latest();
  // Writes generation after + 1; kConflict when another writer got there
  // first. Generations two or more behind are removed (history, not state).
  Result<LogEntry> append(std::uint64_t after, nlohmann::json body);

  const std::string& owner() const { return owner_; }

 private:
  std::string key_of(std::uint64_t generation) const;

  DocumentStore& store_;
  store::Keyring keys_;  // the current key signs, any verifies
  std::string prefix_;
  std::string kind_;
  std::string owner_;
};

}  // namespace wscp::migration
