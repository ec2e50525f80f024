#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"
#include "store/compression.h"

namespace wscp::store {

// Where things live in a store (keys are relative to the store's root, which
// for S3 is s3://bucket/prefix):
//   workspaces/<ws>/checkpoints/<id>/manifest.json     written last
//   workspaces/<ws>/checkpoints/<id>/<container>.tar[.zst][.enc]
//   images/sha256/<hex>/blob-<random>, meta.json         shared by checkpoints
namespace layout {

std::string checkpoints_prefix(std::string_view workspace_id);
std::string checkpoint_prefix(std::string_view workspace_id, std::string_view checkpoint_id);
std::string manifest_key(std::string_view workspace_id, std::string_view checkpoint_id);
std::string archive_key(std::string_view workspace_id, std::string_view checkpoint_id, std::string_view container,
                        Compression compression, bool encrypted);
// digest: "sha256:<64 hex>" (an image id) or the bare hex.
std::string image_key(std::string_view digest);

inline constexpr std::string_view kManifestName = "manifest.json";

}  // namespace layout

// A workspace id, checkpoint id or container name that becomes one key
// segment: 1..128 of [A-Za-z0-9_.-], starting with a letter or digit.
Status validate_name(std::string_view name, std::string_view what);

// "sha256:<64 lower-case hex>".
Status validate_image_digest(std::string_view digest);

// A new checkpoint id that sorts by time: 20261123T094100Z-1a2b3c4d.
std::string make_checkpoint_id(std::chrono::system_clock::time_point now);

}  // namespace wscp::store
