#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/operation.h"
#include "common/stream.h"
#include "store/compression.h"
#include "store/encryption_key.h"
#include "store/manifest.h"
#include "store/object_store.h"

namespace wscp::store {

struct PipelineOptions {
  CompressionOptions compression;
  // The current key: encrypts what is written. None: archives stored in clear.
  std::optional<EncryptionKey> encryption_key;
  // Older keys of the keyring: they still decrypt (and verify) what they
  // wrote, found by the key id an archive records.
  std::vector<EncryptionKey> older_keys;
  std::uint64_t digest_part_size = 16ull << 20;
  // Bytes a restore stream keeps back until the whole archive verified.
  std::size_t restore_holdback = 1 << 20;

  // Every key, the current one first.
  Keyring keys() const;
};

// Takes the plain tar and stores it: SHA-256 of the plain bytes -> zstd ->
// AES-256-GCM chunks -> SHA-256 (whole and per part) of the stored bytes ->
// the object store's writer. close() commits the object; result() then
// describes it for the manifest. Destroyed before close(): nothing is left.
class ArchiveWriter : public ByteSink {
 public:
  static Result<std::unique_ptr<ArchiveWriter>> make(ObjectStore& store, const std::string& key,
                                                     const PipelineOptions& options, const OperationContext& ctx,
                                                     std::string stage = "upload");
  ~ArchiveWriter() override;

  Status write(std::span<const std::byte> data) override;
  Status close() override;

  // Valid after a successful close().
  const ArchiveObject& result() const { return result_; }

 private:
  ArchiveWriter() = default;
  struct Chain;
  std::unique_ptr<Chain> chain_;
  ArchiveObject result_;
  bool closed_ = false;
};

// Opens a stored archive for restore: every stage verifies (stored digests
// per part and whole, GCM tags, zstd frame, plain digest), and the last
// `restore_holdback` bytes are released only once all of it verified. Any
// mismatch is an error from read(), never a clean end of stream.
Result<std::unique_ptr<ByteSource>> open_verified(ObjectStore& store, const ArchiveObject& archive,
                                                  const PipelineOptions& options, const OperationContext& ctx,
                                                  std::string stage = "download");

}  // namespace wscp::store
