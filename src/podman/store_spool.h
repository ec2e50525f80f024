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
  StoreSpool(store::NamedArchives& archives, std::string migration_prefix)
      : archives_(archives), prefix_(std::move(migration_prefix)) {}

  Result<std::unique_ptr<ByteSink>> create(const std::string& name, const OperationContext& ctx) override {
    return archives_.create(key(name), ctx);
  }
  // THE one create-if-absent write of shared archives. The named archives
  // of the store replace on write, so for now this checks first: a second
  // writer is turned away unless both check before either finishes, and
  // then the later write replaces the earlier. Switch this call to the
  // store's create-if-absent write (ObjectStore::create_exclusive under the
  // archive's description) when NamedArchives offers one.
  Result<std::unique_ptr<ByteSink>> create_once(const std::string& name, const OperationContext& ctx) override {
    auto present = archives_.exists(key(name));
    if (!present.ok()) return present.error();
    if (*present) return Error(ErrorCode::kConflict, describe(name) + " exists already");
    return archives_.create(key(name), ctx);
  }
  Result<std::unique_ptr<ByteSource>> open(const std::string& name, const OperationContext& ctx) override {
    return archives_.open(key(name), ctx);
  }
  Result<bool> exists(const std::string& name) override { return archives_.exists(key(name)); }
  std::string describe(const std::string& name) const override { return archives_.describe(key(name)); }

 private:
  std::string key(const std::string& name) const {
    return name.starts_with("images/") ? name : prefix_ + "/" + name;
  }

  store::NamedArchives& archives_;
  std::string prefix_;
};

}  // namespace wscp::podman
