#pragma once

#include <memory>
#include <string>

#include "store/object_store.h"

namespace wscp::store {

// Objects as files under a root directory (file:///path), the embedded
// default. Files are 0600, directories 0700; a writer fills a temporary file
// beside the target and renames it into place on close (after fsync), so an
// object is either complete or absent.
std::unique_ptr<ObjectStore> make_local_store(std::string root);

}  // namespace wscp::store
