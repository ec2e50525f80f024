#pragma once

#include "migration/document_store.h"
#include "store/object_store.h"

namespace wscp::migration {

// The phases' coordination documents kept in the archive store itself, so
// that the store is the only thing two nodes share.
class ObjectDocuments final : public DocumentStore {
 public:
  explicit ObjectDocuments(store::ObjectStore& objects) : objects_(objects) {}

  Status create_exclusive(const std::string& key, const std::string& text) override;
  Result<std::optional<std::string>> read(const std::string& key) override;
  Result<std::vector<std::string>> list(const std::string& prefix) override;
  Status remove(const std::string& key) override;
  Result<std::chrono::system_clock::time_point> now() override;

 private:
  store::ObjectStore& objects_;
};

}  // namespace wscp::migration
