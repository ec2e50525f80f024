#pragma once

#include <string>

#include "common/operation.h"
#include "podman/archive_spool.h"
#include "store/named_archives.h"

namespace wscp::podman {

// The archive store as a migration's spool: every archive goes through the
// store's pipeline (zstd, AES-256-GCM when a key is set, SHA-256) and is
// verified byte for byte, before its end reaches Podman, when read back.
// Images ("images/<id>...") are shared by every migration in the store;
// everything else lives under the migration's own prefix.
class StoreSpool final : public ArchiveSpool {
 public:
  // ctx (copied: it shares the cancel token) is used for every transfer.
  StoreSpool(store::NamedArchives& archives, std::string migration_prefix, OperationContext ctx)
      : archives_(archives), prefix_(std::move(migration_prefix)), ctx_(std::move(ctx)) {}

  Result<std::unique_ptr<ByteSink>> create(const std::string& name) override {
    return archives_.create(key(name), ctx_);
  }
  Result<std::unique_ptr<ByteSource>> open(const std::string& name) override {
    return archives_.open(key(name), ctx_);
  }
  Result<bool> exists(const std::string& name) override { return archives_.exists(key(name)); }
  std::string describe(const std::string& name) const override { return archives_.describe(key(name)); }

 private:
  std::string key(const std::string& name) const {
    return name.starts_with("images/") ? name : prefix_ + "/" + name;
  }

  store::NamedArchives& archives_;
  std::string prefix_;
  OperationContext ctx_;
};

}  // namespace wscp::podman
