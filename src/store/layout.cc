#include "store/layout.h"

#include <ctime>

#include "common/time_format.h"

#include "store/crypto.h"

namespace wscp::store {
namespace layout {

std::string checkpoints_prefix(std::string_view workspace_id) {
  return "workspaces/" + std::string(workspace_id) + "/checkpoints/";
}

std::string checkpoint_prefix(std::string_view workspace_id, std::string_view checkpoint_id) {
  return checkpoints_prefix(workspace_id) + std::string(checkpoint_id) + "/";
}

std::string manifest_key(std::string_view workspace_id, std::string_view checkpoint_id) {
  return checkpoint_prefix(workspace_id, checkpoint_id) + std::string(kManifestName);
}

std::string archive_key(std::string_view workspace_id, std::string_view checkpoint_id, std::string_view container,
                        Compression compression, bool encrypted) {
  std::string key = checkpoint_prefix(workspace_id, checkpoint_id) + std::string(container) + ".tar";
  if (compression == Compression::kZstd) key += ".zst";
  if (encrypted) key += ".enc";
  return key;
}

std::string image_key(std::string_view digest) {
  if (digest.rfind("sha256:", 0) == 0) digest.remove_prefix(7);
  return "images/sha256/" + std::string(digest);
}

}  // namespace layout

Status validate_name(std::string_view name, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string(what) + " '" + std::string(name) + "' is not allowed: " + std::string(why) +
                     " (use 1-128 letters, digits, '_', '.', '-', starting with a letter or digit)");
  };
  if (name.empty() || name.size() > 128) return bad("wrong length");
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front())) return bad("it does not start with a letter or digit");
  for (char c : name) {
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return bad("it contains a character outside the allowed set");
  }
  return Ok{};
}

Status validate_image_digest(std::string_view digest) {
  if (digest.rfind("sha256:", 0) != 0 || !is_sha256_hex(digest.substr(7))) {
    return Error(ErrorCode::kInvalidArgument,
                 "image digest '" + std::string(digest) + "' is not of the form sha256:<64 lower-case hex digits>");
  }
  return Ok{};
}

std::string make_checkpoint_id(std::chrono::system_clock::time_point now) {
  return utc_basic(now) + "-" + random_hex(4);
}

}  // namespace wscp::store
