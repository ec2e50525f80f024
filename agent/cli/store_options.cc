#include "agent/cli/store_options.h"

#include <filesystem>

#include "store/encryption_key.h"
#include "store/store_url.h"

namespace wscp::agent {

void StoreArgs::add_to(CLI::App& cmd) {
  cmd.add_option("--via", via,
                 "Where archives are kept between the nodes: a directory, file:///dir, or "
                 "s3://bucket/prefix[?endpoint=URL&region=R&part_size=16MiB&concurrency=4]")
      ->required();
  cmd.add_option("--compression", compression, "Archive compression")
      ->check(CLI::IsMember({"zstd", "none"}))
      ->capture_default_str();
  cmd.add_option("--compression-level", compression_level, "zstd level (1-19)")
      ->check(CLI::Range(1, 19))
      ->capture_default_str();
  cmd.add_option("--encryption-key", encryption_key_file,
                 "Encrypt and authenticate archives (AES-256-GCM) with the key in this file: 32 raw bytes, or "
                 "64 hex digits per line, the current key first and older keys (still decrypting what they "
                 "wrote) after it. Mode 600. An s3:// store needs this or --manifest-key");
  cmd.add_option("--segment-size", segment_mib,
                 "MiB of stored archive per segment object: each is written (and readable) whole, and a reader "
                 "or writer holds a few in memory")
      ->check(CLI::Range(0.0625, 256.0))
      ->capture_default_str();
  cmd.add_option("--manifest-key", manifest_key_file,
                 "Authenticate manifests (HMAC-SHA256) with the key in this file (same format); defaults to the "
                 "encryption key");
}

std::string StoreArgs::url() const {
  if (via.find("://") != std::string::npos) return via;
  return "file://" + std::filesystem::absolute(via).lexically_normal().string();
}

Status StoreArgs::check_keys() const {
  if (url().rfind("s3://", 0) == 0 && encryption_key_file.empty() && manifest_key_file.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "--via " + via +
                     " is a shared store: without a key, anyone who can write to the bucket could swap an archive "
                     "and its description, and the restore would run what they put there. Pass --encryption-key "
                     "FILE (encrypts and authenticates) or --manifest-key FILE (authenticates only); make a key "
                     "with `(umask 077; openssl rand -hex 32 > FILE)`");
  }
  return Ok{};
}

Result<std::unique_ptr<store::ObjectStore>> StoreArgs::open_store() const {
  // Refused before anything else (credentials, directories) is looked at.
  auto st = check_keys();
  if (!st) return st.error();
  if (via.find("://") == std::string::npos) {
    std::error_code ec;
    std::filesystem::create_directories(via, ec);
    if (ec) return Error(ErrorCode::kInvalidArgument, "cannot create " + via + ": " + ec.message());
  }
  return store::open_object_store(url(), events);
}

Result<store::CheckpointStoreOptions> StoreArgs::store_options() const {
  auto st = check_keys();
  if (!st) return st.error();
  store::CheckpointStoreOptions options;
  options.pipeline.compression.algorithm =
      compression == "none" ? store::Compression::kNone : store::Compression::kZstd;
  options.pipeline.compression.level = compression_level;
  options.pipeline.segment_size = static_cast<std::uint64_t>(segment_mib * (1 << 20));
  if (!encryption_key_file.empty()) {
    auto ring = store::load_keyring_file(encryption_key_file);
    if (!ring.ok()) return ring.error().wrap("--encryption-key");
    options.pipeline.encryption_key = *ring->current();
    for (std::size_t i = 1; i < ring->keys().size(); ++i) options.pipeline.older_keys.push_back(ring->keys()[i]);
  }
  if (!manifest_key_file.empty()) {
    auto ring = store::load_keyring_file(manifest_key_file);
    if (!ring.ok()) return ring.error().wrap("--manifest-key");
    options.manifest_key = *ring->current();
    // Older manifest keys verify what they signed (any key of either file does).
    for (std::size_t i = 1; i < ring->keys().size(); ++i) options.pipeline.older_keys.push_back(ring->keys()[i]);
  }
  return options;
}

}  // namespace wscp::agent
