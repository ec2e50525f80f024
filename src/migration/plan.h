#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "podman/types.h"
#include "store/encryption_key.h"

namespace wscp::migration {

// What the source decided before freezing anything: which containers make
// the workspace, the facts a destination needs to pre-flight them, and the
// options of the checkpoint. Written to the store (authenticated) before the
// freeze, so a destination on another node can refuse early, and bound into
// the manifest, so a checkpoint cannot be restored under another plan.
struct Plan {
  static constexpr int kVersion = 1;

  std::string checkpoint_id;
  std::string workspace_id;
  std::string source_node;
  std::string created_at;  // RFC 3339, UTC
  // A compose project's name, or empty for a single container.
  std::string project;
  // The workspace's primary (devcontainer) container: the one carrying the
  // workspace label.
  std::string primary;
  // In dump order; inspected when the plan was made.
  std::vector<podman::ContainerInfo> containers;
  podman::CheckpointOptions checkpoint;
  podman::RestoreOptions restore;

  // Not part of the text: the SHA-256 (hex) of the stored text this plan was
  // parsed from or written as, which the manifest binds. Set by make_plan
  // and read_plan, so that what is checked and what is bound come from one
  // read.
  std::string document_sha256;
};

// Podman names images by bare hex ids; the store addresses them as
// "sha256:<hex>". Both forms are accepted here.
std::string image_digest(std::string_view image_id);
std::string podman_image_id(std::string_view image_id);

// Semantic checks: names are single key segments, image ids are digests,
// containers are unique and the primary is one of them, options agree
// (leaveRunning is for a checkpoint kept for later, never a migration's).
Status validate_plan(const Plan& plan);

// With a key, the text carries an HMAC-SHA256 over everything else.
std::string serialize_plan(const Plan& plan, const store::EncryptionKey* mac_key);

// Parses untrusted text, authenticating it first with the keyring's key it
// names (and refusing an authenticated plan when the ring is empty). Never
// throws.
Result<Plan> parse_plan(std::string_view text, const store::Keyring& mac_keys);

}  // namespace wscp::migration
