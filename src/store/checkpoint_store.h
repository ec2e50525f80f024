#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/operation.h"
#include "common/stream.h"
#include "store/archive_pipeline.h"
#include "store/manifest.h"
#include "store/object_store.h"

namespace wscp::store {

struct CheckpointStoreOptions {
  PipelineOptions pipeline;
  // Authenticates manifests. Defaults to the encryption key when encryption
  // is on; without either, manifests only detect accidental damage.
  std::optional<EncryptionKey> manifest_key;
  std::size_t max_manifest_size = 16 << 20;
  // A shared store (ObjectStore::shared(), e.g. S3) is refused without a key:
  // anyone who can write to it could swap an archive and its description.
  // Only for measurements on a private bucket.
  bool allow_unauthenticated_shared_store = false;

  // The key that authenticates what is written (manifest key, else the
  // encryption key), or nullptr.
  const EncryptionKey* mac_key() const;
  // The keys that verify what is read: the current MAC key first, then the
  // encryption key and every older key.
  Keyring mac_keys() const;
};

// kPermissionDenied when `store` is shared and no key authenticates what is
// read back from it (see allow_unauthenticated_shared_store).
Status require_authentication(const ObjectStore& store, const CheckpointStoreOptions& options);

// Parses image metadata (images/sha256/<hex>/meta.json) read back from the
// store: authenticated with one of `mac_keys` when there are any, about
// `image_id`, its blob inside the image's content address, every field
// checked. Never throws.
Result<ImageBlob> parse_image_meta(std::string_view text, const std::string& image_id, const Keyring& mac_keys);

class CheckpointStore;

// Stores one image blob; see CheckpointStore::create_image.
class ImageWriter : public ByteSink {
 public:
  ImageWriter(CheckpointStore& store, std::unique_ptr<ArchiveWriter> archive, ImageBlob blob,
              const OperationContext& ctx)
      : store_(store), archive_(std::move(archive)), blob_(std::move(blob)), ctx_(ctx) {}
  Status write(std::span<const std::byte> data) override { return archive_->write(data); }
  Status close() override;
  const ImageBlob& result() const { return blob_; }

 private:
  CheckpointStore& store_;
  std::unique_ptr<ArchiveWriter> archive_;
  ImageBlob blob_;
  const OperationContext& ctx_;
};

struct CheckpointListing {
  std::string checkpoint_id;
  bool complete = false;  // its manifest exists
  std::uint64_t stored_bytes = 0;
  std::size_t objects = 0;
};

// What the engine and the agent use: checkpoints of workspaces, their
// archives and the images they need, on any ObjectStore.
class CheckpointStore {
 public:
  CheckpointStore(ObjectStore& objects, CheckpointStoreOptions options);

  // A writer for one container's archive in a checkpoint; its result() goes
  // into the manifest's ContainerEntry.
  Result<std::unique_ptr<ArchiveWriter>> create_archive(const std::string& workspace_id,
                                                        const std::string& checkpoint_id,
                                                        const std::string& container, const OperationContext& ctx);
  // The same, pulling from a source until its end.
  Result<ArchiveObject> put_archive(const std::string& workspace_id, const std::string& checkpoint_id,
                                    const std::string& container, ByteSource& tar, const OperationContext& ctx);

  // An image already stored (and readable with this store's keys), or none.
  Result<std::optional<ImageBlob>> find_image(const std::string& image_id);
  // A writer for an image (e.g. libpod's oci-archive export pushed into it);
  // close() stores it and its metadata, result() then describes it. Call
  // find_image first to skip images already stored.
  Result<std::unique_ptr<ImageWriter>> create_image(const std::string& image_id, std::vector<std::string> names,
                                                    std::string format, const OperationContext& ctx);
  // Stores an image from a source unless it is there.
  Result<ImageBlob> put_image(const std::string& image_id, const std::vector<std::string>& names,
                              const std::string& format, ByteSource& archive, const OperationContext& ctx);

  // Writes the manifest, authenticated when a key is configured. Call it last:
  // its presence marks the checkpoint complete.
  Status write_manifest(const Manifest& manifest, const OperationContext& ctx);
  // Reads, authenticates and checks a manifest; kNotFound when the checkpoint
  // is missing or incomplete.
  Result<Manifest> read_manifest(const std::string& workspace_id, const std::string& checkpoint_id,
                                 const OperationContext& ctx);

  // A verified restore stream (see open_verified) of an archive or image named
  // in a manifest read with read_manifest.
  // `before_end` runs before the archive's held-back tail is released.
  Result<std::unique_ptr<ByteSource>> open_archive(const ArchiveObject& archive, const OperationContext& ctx,
                                                   std::function<Status()> before_end = {});
  // A verified restore stream of a container's archive that may still be
  // written, without its manifest (see open_following): it follows the
  // segments as they appear and ends only after the last one verified. The
  // archive must have been written with this store's compression and
  // encryption settings (they name its key).
  //
  // A restore that follows must hold the checkpoint's restore claim before
  // it starts and keep Podman from the stream's end until the manifest
  // exists and binds this writing: a source that never sent a manifest may
  // resume without the claim when the store is unreachable (see
  // migration/checkpoint_phase.cc), so a clean end here alone proves nothing
  // about who owns the workspace.
  Result<std::unique_ptr<ByteSource>> follow_archive(const std::string& workspace_id,
                                                     const std::string& checkpoint_id, const std::string& container,
                                                     const FollowOptions& follow, const OperationContext& ctx,
                                                     FollowGate gate = {});
  // Where create_archive stores a container's archive.
  std::string archive_key(const std::string& workspace_id, const std::string& checkpoint_id,
                          const std::string& container) const;

  Result<std::vector<CheckpointListing>> list_checkpoints(const std::string& workspace_id);
  // Removes the manifest first (the checkpoint stops counting as complete),
  // then its archives (every segment). Shared images stay.
  Status delete_checkpoint(const std::string& workspace_id, const std::string& checkpoint_id);

  ObjectStore& objects() { return objects_; }
  // Records an image blob's metadata (after its blob is complete).
  Status write_image_meta(const ImageBlob& blob, const OperationContext& ctx);
  const CheckpointStoreOptions& options() const { return options_; }

 private:
  Status check_authenticated() const;

  ObjectStore& objects_;
  CheckpointStoreOptions options_;
};

}  // namespace wscp::store
