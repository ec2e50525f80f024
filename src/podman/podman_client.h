#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/operation.h"
#include "common/result.h"
#include "common/stream.h"
#include "podman/types.h"

namespace wscp::podman {

// One node's container service. The real one speaks libpod REST over a unix
// socket (LibpodClient); unit tests use a fake.
//
// Errors: kUnavailable when the service cannot be reached, kNotFound,
// kConflict, kCheckpointFailed / kRestoreFailed with what libpod said.
class PodmanClient {
 public:
  virtual ~PodmanClient() = default;

  virtual Result<HostInfo> info() = 0;
  virtual Result<ContainerInfo> inspect_container(const std::string& name) = 0;
  // label_filter: "key" or "key=value"; empty lists every container.
  virtual Result<std::vector<ContainerSummary>> list_containers(const std::string& label_filter) = 0;
  virtual Result<bool> container_exists(const std::string& name) = 0;
  // The memory a running container uses now (its cgroup's), in bytes.
  virtual Result<std::uint64_t> memory_usage(const std::string& name) {
    return Error(ErrorCode::kUnsupported, "this Podman client cannot read " + name + "'s memory usage");
  }
  virtual Status remove_container(const std::string& name, bool force) = 0;
  virtual Status rename_container(const std::string& name, const std::string& new_name) = 0;

  // Streams the exported checkpoint (an uncompressed tar) into archive. The
  // sink is not closed: the caller decides when the archive is complete.
  virtual Status checkpoint(const std::string& name, const CheckpointOptions& options,
                            ByteSink& archive, const OperationContext& ctx) = 0;
  // Imports and restores a checkpoint archive; returns the new container id.
  // `timeout` bounds the whole call, upload and Podman's restore (zero: no
  // limit but a stalled connection). A timeout ends only the call: Podman
  // may still finish a restore whose archive it received whole.
  virtual Result<std::string> restore(ByteSource& archive, const RestoreOptions& options,
                                      const OperationContext& ctx, std::chrono::milliseconds timeout) = 0;

  // Restores a checkpointed container in place, from the checkpoint Podman
  // kept (checkpoint with keep=true); returns its id. Only tcpEstablished
  // and fileLocks of options apply (a checkpoint holding either needs them).
  virtual Result<std::string> restore_in_place(const std::string& name, const RestoreOptions& options) = 0;

  virtual Result<std::optional<ImageInfo>> find_image(const std::string& name_or_id) = 0;
  // An OCI archive, which keeps the image's name.
  virtual Status export_image(const std::string& name, ByteSink& out, const OperationContext& ctx) = 0;
  // Loads an image archive; returns the names Podman gave what it loaded
  // (an archive may carry several, and may retag images already here).
  virtual Result<std::vector<std::string>> load_image(ByteSource& in, const OperationContext& ctx) = 0;
  virtual Result<std::vector<ImageInfo>> list_images() = 0;
  // Points `name` ("repo:tag") at the image `id` (moving it from another image).
  virtual Status tag_image(const std::string& id, const std::string& name) = 0;
  virtual Status untag_image(const std::string& id, const std::string& name) = 0;
  // Removes an image that has no names left and no containers.
  virtual Status remove_image(const std::string& id) = 0;

  virtual Result<bool> network_exists(const std::string& name) = 0;
  virtual Status create_network(const std::string& name) = 0;
  virtual Result<bool> volume_exists(const std::string& name) = 0;
};

}  // namespace wscp::podman
