#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/operation.h"
#include "common/stream.h"

namespace wscp::store {

struct ObjectInfo {
  std::string key;
  std::uint64_t size = 0;
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
  // Reads an object from its start. kNotFound when it does not exist.
  virtual Result<std::unique_ptr<ByteSource>> open(const std::string& key, const OperationContext& ctx) = 0;
  // The object's size, or nullopt when it does not exist.
  virtual Result<std::optional<ObjectInfo>> head(const std::string& key) = 0;
  // Every object whose key starts with prefix, sorted by key.
  virtual Result<std::vector<ObjectInfo>> list(const std::string& prefix) = 0;
  // Removing an object that does not exist succeeds.
  virtual Status remove(const std::string& key) = 0;
  // Cleans up writes that never completed (crashed writers, aborts that
  // could not reach the server) older than `older_than`. Returns how many.
  virtual Result<std::size_t> sweep_incomplete(std::chrono::seconds older_than) = 0;
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
