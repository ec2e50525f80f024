#pragma once

#include <memory>
#include <string>

#include "common/operation.h"
#include "common/stream.h"
#include "store/checkpoint_store.h"

namespace wscp::store {

// Archives addressed by a caller's own names ("containers/web.tar",
// "images/<id>.oci.tar", "projects/p/manifest.json") under one prefix, each
// through the pipeline (zstd, AES-GCM, digests) and verified when read. For
// callers that address archives by name, such as the Podman engine's spool.
//
// Each archive has a small description beside it (<name>.meta.json: the
// ArchiveObject, authenticated like a manifest when a key is configured),
// written after the archive is complete: its presence means the archive is
// complete, and open() checks every byte against it.
class NamedArchives {
 public:
  NamedArchives(ObjectStore& objects, CheckpointStoreOptions options, std::string prefix);

  // The archive becomes readable when close() succeeds; `ctx` must outlive the sink.
  Result<std::unique_ptr<ByteSink>> create(const std::string& name, const OperationContext& ctx);
  // A verified stream: fails (never ends cleanly) unless every byte matches.
  Result<std::unique_ptr<ByteSource>> open(const std::string& name, const OperationContext& ctx);
  // Whether a complete archive of that name exists.
  Result<bool> exists(const std::string& name);
  // Where it is, for messages: "s3://bucket/prefix/spool/containers/web.tar".
  std::string describe(const std::string& name) const;
  // The description of a complete archive (sizes, digests).
  Result<ArchiveObject> describe_archive(const std::string& name, const OperationContext& ctx);

  // Internal: records a completed archive.
  Status write_meta(const std::string& name, const ArchiveObject& archive, const OperationContext& ctx);

 private:
  Result<std::string> object_key(const std::string& name) const;
  std::string meta_key(const std::string& name) const;

  ObjectStore& objects_;
  CheckpointStoreOptions options_;
  std::string prefix_;
};

// Parses the description of the archive `name` (<name>.meta.json) read back
// from a store: authenticated with one of `mac_keys` when there are any (by
// the key id it records), about `name`, pointing at `object_key`, every field
// checked (validate_archive_object). kIntegrity for anything wrong,
// kPermissionDenied for a key mismatch. Never throws.
Result<ArchiveObject> parse_archive_description(std::string_view text, const std::string& name,
                                                const std::string& object_key, const Keyring& mac_keys);

}  // namespace wscp::store
