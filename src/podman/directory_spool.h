#pragma once

#include <filesystem>

#include "podman/archive_spool.h"

namespace wscp::podman {

// Archives as plain files under a directory (mode 0600, written atomically).
class DirectorySpool final : public ArchiveSpool {
 public:
  explicit DirectorySpool(std::filesystem::path root) : root_(std::move(root)) {}
  Result<std::unique_ptr<ByteSink>> create(const std::string& name) override;
  Result<std::unique_ptr<ByteSource>> open(const std::string& name) override;
  Result<bool> exists(const std::string& name) override;
  std::string describe(const std::string& name) const override { return (root_ / name).string(); }

 private:
  std::filesystem::path root_;
};

}  // namespace wscp::podman
