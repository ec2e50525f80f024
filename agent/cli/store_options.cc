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
                 "Encrypt archives at rest (AES-256-GCM) with the 32-byte key in this file (raw or hex)");
  cmd.add_option("--manifest-key", manifest_key_file,
                 "Authenticate manifests (HMAC-SHA256) with this key; defaults to the encryption key");
}

std::string StoreArgs::url() const {
  if (via.find("://") != std::string::npos) return via;
  return "file://" + std::filesystem::absolute(via).lexically_normal().string();
}

Result<std::unique_ptr<store::ObjectStore>> StoreArgs::open_store() const {
  if (via.find("://") == std::string::npos) {
    std::error_code ec;
    std::filesystem::create_directories(via, ec);
    if (ec) return Error(ErrorCode::kInvalidArgument, "cannot create " + via + ": " + ec.message());
  }
  return store::open_object_store(url());
}

Result<store::CheckpointStoreOptions> StoreArgs::store_options() const {
  store::CheckpointStoreOptions options;
  options.pipeline.compression.algorithm =
      compression == "none" ? store::Compression::kNone : store::Compression::kZstd;
  options.pipeline.compression.level = compression_level;
  if (!encryption_key_file.empty()) {
    auto key = store::load_key_file(encryption_key_file);
    if (!key.ok()) return key.error().wrap("--encryption-key");
    options.pipeline.encryption_key = *key;
  }
  if (!manifest_key_file.empty()) {
    auto key = store::load_key_file(manifest_key_file);
    if (!key.ok()) return key.error().wrap("--manifest-key");
    options.manifest_key = *key;
  }
  return options;
}

}  // namespace wscp::agent
