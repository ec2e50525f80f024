#pragma once

#include <chrono>
#include <string>

#include "common/clock.h"
#include "migration/document_store.h"
#include "migration/fault_points.h"
#include "migration/journal.h"
#include "podman/engine.h"
#include "store/checkpoint_store.h"

namespace wscp::migration {

struct PhaseSettings {
  // How long a workspace lock lasts without being renewed; longer than the
  // slowest checkpoint of the largest workspace.
  std::chrono::seconds lock_ttl{1800};
  // Where in a transfer the "mid-" fault points fire: once bytes flow,
  // before the end.
  std::uint64_t mid_transfer_fault_bytes = 1;
  // How old a stored image no sealed checkpoint names must be before it is
  // collected: longer than the slowest checkpoint (which stores its images
  // before its manifest names them).
  std::chrono::seconds image_grace{3600};
  // How often at most an agent's deletions also collect images: each
  // collection reads every sealed checkpoint's manifest.
  std::chrono::seconds image_collection_interval{600};
};

// What one node's phases are handed: this node's Podman (through its
// engine), the shared store, the coordination documents, the node's journal
// and its fault points. A phase never reaches another node.
struct NodeServices {
  std::string node;
  podman::Engine& engine;
  store::CheckpointStore& checkpoints;
  DocumentStore& documents;
  Journal& journal;
  const FaultPoints& faults;
  Clock& clock;
  PhaseSettings settings;

  // The key that authenticates what this node writes (plan, claim, lock);
  // nullptr for an unshared store without keys.
  const store::EncryptionKey* signing_key() const { return checkpoints.options().mac_key(); }
  // The keys that verify what is read back.
  store::Keyring verify_keys() const { return checkpoints.options().mac_keys(); }
};

}  // namespace wscp::migration
