#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "common/stream.h"

namespace wscp::podman {

// Where archives wait between the source and the destination node: a local
// directory, or the archive store. Names are relative keys such as
// "containers/web.tar" or "images/<id>.oci.tar".
class ArchiveSpool {
 public:
  virtual ~ArchiveSpool() = default;
  // A sink whose data becomes readable only once close() succeeds.
  virtual Result<std::unique_ptr<ByteSink>> create(const std::string& name) = 0;
  // A stream that fails (never ends cleanly) if the data is not what was
  // written.
  virtual Result<std::unique_ptr<ByteSource>> open(const std::string& name) = 0;
  virtual Result<bool> exists(const std::string& name) = 0;
  // Where the data is, for messages ("/var/tmp/x/containers/web.tar").
  virtual std::string describe(const std::string& name) const = 0;
};

}  // namespace wscp::podman
