#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace wscp::store {

// A 256-bit key for archive encryption and manifest authentication. Its id is
// a fingerprint (not the key), recorded in manifests and archive headers so
// that a wrong key is named as such instead of failing as "damaged data".
struct EncryptionKey {
  std::array<std::uint8_t, 32> bytes{};
  std::string id;

  // Derives a separate key for one purpose, so the same secret never keys two
  // algorithms directly.
  std::array<std::uint8_t, 32> derive(std::string_view purpose) const;
};

// Builds a key from its 32 bytes (id = fingerprint).
EncryptionKey make_key(const std::array<std::uint8_t, 32>& bytes);

// Parses key material: 32 raw bytes, or 64 hex digits (surrounding
// whitespace ignored), as written by `head -c32 /dev/urandom` or
// `openssl rand -hex 32`.
Result<EncryptionKey> parse_key(std::string_view material);

// Reads a key file (a mounted Secret works the same way).
Result<EncryptionKey> load_key_file(const std::string& path);

}  // namespace wscp::store
