#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace wscp::migration {

// The few things the phases need from a shared store to coordinate nodes
// without any other channel: small documents created at most once, read
// back, listed, and the store's own clock (nodes' clocks may disagree; the
// store's is the one every node sees).
class DocumentStore {
 public:
  virtual ~DocumentStore() = default;
  // Creates key with text unless it exists: exactly one of several racing
  // creators succeeds, the others get kConflict.
  virtual Status create_exclusive(const std::string& key, const std::string& text) = 0;
  // The text, or nullopt when the key does not exist.
  virtual Result<std::optional<std::string>> read(const std::string& key) = 0;
  // Keys under prefix, sorted.
  virtual Result<std::vector<std::string>> list(const std::string& prefix) = 0;
  virtual Status remove(const std::string& key) = 0;
  virtual Result<std::chrono::system_clock::time_point> now() = 0;
};

}  // namespace wscp::migration
