#pragma once

#include <memory>
#include <string>

#include "common/operation.h"
#include "common/result.h"
#include "common/stream.h"

namespace wscp::podman {

// Where archives wait between the source and the destination node: a local
// directory, or the archive store. Names are relative keys such as
// "containers/web.tar" or "images/<id>.oci.tar". Every transfer runs under
// the context it is given (its cancellation), which must outlive the stream.
class ArchiveSpool {
 public:
  virtual ~ArchiveSpool() = default;
  // A sink whose data becomes readable only once close() succeeds,
  // replacing an archive of the same name.
  virtual Result<std::unique_ptr<ByteSink>> create(const std::string& name, const OperationContext& ctx) = 0;
  // Create-if-absent, for archives shared by several writers (images): the
  // data becomes readable only if no archive of that name exists when
  // close() is called; otherwise create_once() or close() fails with
  // kConflict and the existing archive is left as it is.
  virtual Result<std::unique_ptr<ByteSink>> create_once(const std::string& name, const OperationContext& ctx) = 0;
  // A stream that fails (never ends cleanly) if the data is not what was
  // written.
  virtual Result<std::unique_ptr<ByteSource>> open(const std::string& name, const OperationContext& ctx) = 0;
  virtual Result<bool> exists(const std::string& name) = 0;
  // Where the data is, for messages ("/var/tmp/x/containers/web.tar").
  virtual std::string describe(const std::string& name) const = 0;
};

}  // namespace wscp::podman
