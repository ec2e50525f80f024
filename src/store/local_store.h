#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "store/object_store.h"

namespace wscp::store {

// Objects as files under a root directory (file:///path), the embedded
// default. Files are 0600, directories 0700; a writer fills a temporary file
// beside the target and renames it into place on close (after fsync), so an
// object is either complete or absent. create_exclusive links the file into
// place (link() never replaces), and create_exclusive and remove_if_match
// hold an flock on the object's directory, so they are atomic towards each
// other across processes. The store's clock is `clock` (default: the system
// clock). Not shared(): only this machine writes to it.
std::unique_ptr<ObjectStore> make_local_store(
    std::string root, std::function<std::chrono::system_clock::time_point()> clock = nullptr);

}  // namespace wscp::store
