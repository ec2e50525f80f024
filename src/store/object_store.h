#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/operation.h"
#include "common/stream.h"

namespace wscp::store {

struct ObjectInfo {
  std::string key;
  std::uint64_t size = 0;
  // Identifies this version of the object (S3: its ETag, quotes included;
  // local: device, inode, size and modification time). Changes whenever the
  // object is replaced. May be empty in list() results.
  std::string etag;
  // When the object was written, by the store's clock (see now()).
  std::chrono::system_clock::time_point last_modified{};
};

// A flat namespace of immutable objects, addressed by relative keys
// ("workspaces/ws/checkpoints/id/manifest.json"). Backends: a local directory
// and S3. Every method is safe to call from several threads.
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // A writer for a new object. The object appears (atomically, replacing any
  // old one) only when close() succeeds; a writer destroyed without close()
  // leaves nothing behind.
  virtual Result<std::unique_ptr<ByteSink>> create(const std::string& key, const OperationContext& ctx) = 0;
  // Writes a whole object held in memory, replacing any old one, atomically.
  // Unlike a create() writer it can be retried as a whole (S3: one PUT,
  // resent after a lost answer or a server restart), so a commit survives
  // what would lose a streamed upload.
  virtual Status put(const std::string& key, const std::string& data, const OperationContext& ctx);
  // Creates a small object only if no object of that key exists, atomically:
  // of several writers racing for the same key exactly one succeeds, the
  // others get kConflict. (S3: PUT with If-None-Match: *; local: link().)
  virtual Status create_exclusive(const std::string& key, std::string_view data, const OperationContext& ctx);
  // Reads an object from its start. kNotFound when it does not exist.
  virtual Result<std::unique_ptr<ByteSource>> open(const std::string& key, const OperationContext& ctx) = 0;
  // The object's size, ETag and time, or nullopt when it does not exist.
  virtual Result<std::optional<ObjectInfo>> head(const std::string& key) = 0;
  // Every object whose key starts with prefix, sorted by key.
  virtual Result<std::vector<ObjectInfo>> list(const std::string& prefix) = 0;
  // Removing an object that does not exist succeeds.
  virtual Status remove(const std::string& key) = 0;
  // Replaces a small object only if it is still the version `etag` names
  // (from head()), atomically: kConflict when it was replaced meanwhile,
  // kNotFound when it is gone. (S3: PUT with If-Match; local: rename under a
  // directory lock.) With create_exclusive, enough for a lock object: take
  // it when absent, take over or release it only from the version seen.
  virtual Status replace_if_match(const std::string& key, std::string_view data, const std::string& etag,
                                  const OperationContext& ctx);
  // Removes the object only if it is still the version `etag` names:
  // kConflict when it was replaced, kNotFound when it is gone, kUnsupported
  // when the backend cannot do it atomically (S3: servers such as MinIO
  // ignore If-Match on DELETE and would remove any version; use
  // replace_if_match there).
  virtual Status remove_if_match(const std::string& key, const std::string& etag);
  // The store's own clock (S3: the Date of a signed request, 1 s resolution;
  // local: the system clock), against which last_modified is measured: what
  // expires by the store's time does not depend on any node's clock.
  virtual Result<std::chrono::system_clock::time_point> now();
  // Cleans up writes that never completed (crashed writers, aborts that
  // could not reach the server) older than `older_than`, among this writer's
  // own (S3: the store's writer id). Returns how many.
  virtual Result<std::size_t> sweep_incomplete(std::chrono::seconds older_than) = 0;
  // Whether others (other machines, anyone with the bucket's credentials)
  // can write to this store. Everything read back from a shared store must
  // be authenticated with a key before it is trusted.
  virtual bool shared() const { return true; }
  // For messages: "file:///var/lib/wscp/store", "s3://bucket/prefix".
  virtual std::string describe() const = 0;
};

// Checks that a key is a plain relative path: no empty, "." or ".." segment,
// no leading "/", no backslash or control characters. Keys come from
// manifests that may be hostile, so every backend checks them.
Status validate_key(const std::string& key);

// Small objects (manifests) in one go.
Status put_object(ObjectStore& store, const std::string& key, std::string_view data, const OperationContext& ctx);
Result<std::string> get_object(ObjectStore& store, const std::string& key, std::size_t max_size,
                               const OperationContext& ctx);

// Copies a source into a sink until the end, then closes the sink. Checks
// for cancellation between blocks.
Status pump(ByteSource& from, ByteSink& to, const OperationContext& ctx, std::size_t block = 1 << 20);

}  // namespace wscp::store
