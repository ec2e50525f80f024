#pragma once

#include <map>
#include <mutex>

#include "migration/document_store.h"

namespace wscp::migration::testing {

// DocumentStore in memory, with a clock the test moves.
class MemoryDocuments final : public DocumentStore {
 public:
  Status create_exclusive(const std::string& key, const std::string& text) override {
    std::lock_guard lock(mu_);
    if (!docs_.emplace(key, text).second) return Error(ErrorCode::kConflict, key + " exists");
    return Ok{};
  }
  Result<std::optional<std::string>> read(const std::string& key) override {
    std::lock_guard lock(mu_);
    auto it = docs_.find(key);
    if (it == docs_.end()) return std::optional<std::string>{};
    return std::optional<std::string>(it->second);
  }
  Result<std::vector<std::string>> list(const std::string& prefix) override {
    std::lock_guard lock(mu_);
    std::vector<std::string> keys;
    for (const auto& [k, v] : docs_) {
      if (k.starts_with(prefix)) keys.push_back(k);
    }
    return keys;
  }
  Status remove(const std::string& key) override {
    std::lock_guard lock(mu_);
    docs_.erase(key);
    return Ok{};
  }
  Result<std::chrono::system_clock::time_point> now() override {
    std::lock_guard lock(mu_);
    return now_;
  }

  void advance(std::chrono::seconds d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }
  void put(const std::string& key, const std::string& text) {
    std::lock_guard lock(mu_);
    docs_[key] = text;
  }
  std::string get(const std::string& key) {
    std::lock_guard lock(mu_);
    return docs_.at(key);
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> docs_;
  std::chrono::system_clock::time_point now_ = std::chrono::system_clock::from_time_t(1'790'000'000);
};

}  // namespace wscp::migration::testing
