#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "agent/operations/operation.h"
#include "common/result.h"

namespace wscp::agent::operations {

// Where operation records live, so that after a restart a GET or a repeated
// start of the same id answers with what was recorded.
class OperationStore {
 public:
  virtual ~OperationStore() = default;
  // Durable when it returns.
  virtual Status save(const Operation& op) = 0;
  virtual Result<std::optional<Operation>> load(std::string_view id) = 0;
  // Every record; one that cannot be read is an error naming its file.
  virtual Result<std::vector<Operation>> load_all() = 0;
  // Forgets a record (durable when it returns); a missing one is not an error.
  virtual Status remove(std::string_view id) = 0;
};

// <dir>/<id>.json, each 0600 in a 0700 directory, written to a temporary
// file, fsynced and renamed into place (then the directory is fsynced).
class DirectoryOperationStore final : public OperationStore {
 public:
  static Result<std::unique_ptr<DirectoryOperationStore>> open(std::filesystem::path dir);

  Status save(const Operation& op) override;
  Result<std::optional<Operation>> load(std::string_view id) override;
  Result<std::vector<Operation>> load_all() override;
  Status remove(std::string_view id) override;

 private:
  explicit DirectoryOperationStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
  Result<Operation> read(const std::filesystem::path& path);

  std::filesystem::path dir_;
};

}  // namespace wscp::agent::operations
