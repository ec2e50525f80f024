#pragma once

#include <string>

#include "common/operation.h"
#include "common/stream.h"
#include "podman/engine.h"

namespace wscp::podman {

// Loads an image archive on this node and checks that it brought the image
// of `facts` (by id) and no other name: an archive can carry extra tags that
// would retag other images. Anything else is refused and undone (moved names
// put back, added names removed, images it brought removed). `where` names
// the archive in errors. `stream_failed` is set when the archive stream
// itself failed verification (the stored copy is bad), as opposed to Podman
// or the check refusing it.
Status load_image_checked(Engine& node, ByteSource& archive, const ContainerInfo& facts, const std::string& where,
                          const OperationContext& ctx, bool* stream_failed = nullptr);

}  // namespace wscp::podman
