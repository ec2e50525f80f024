#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

// Keys by id: the first is the current one (it encrypts and authenticates
// what is written), the others are older keys that still decrypt and verify
// what they wrote, so keys can be rotated without losing old checkpoints.
class Keyring {
 public:
  Keyring() = default;
  explicit Keyring(std::vector<EncryptionKey> keys);

  bool empty() const { return keys_.empty(); }
  // The key that writes; nullptr when the ring is empty.
  const EncryptionKey* current() const { return keys_.empty() ? nullptr : &keys_.front(); }
  // Any key of the ring by id; nullptr when none has it.
  const EncryptionKey* find(std::string_view id) const;
  const std::vector<EncryptionKey>& keys() const { return keys_; }
  // Adds a key unless one with its id is there (the first added stays current).
  void add(const EncryptionKey& key);
  // "kid-1, kid-2" for messages.
  std::string ids() const;

 private:
  std::vector<EncryptionKey> keys_;
};

// Builds a key from its 32 bytes (id = fingerprint).
EncryptionKey make_key(const std::array<std::uint8_t, 32>& bytes);

// Parses key material: 32 raw bytes, or 64 hex digits (surrounding
// whitespace ignored), as written by `head -c32 /dev/urandom` or
// `openssl rand -hex 32`.
Result<EncryptionKey> parse_key(std::string_view material);

// Parses a key file's text: exactly 32 raw bytes (one key), or one key of 64
// hex digits per line, the current key first and older keys after it (blank
// lines and lines starting with '#' are ignored).
Result<Keyring> parse_keyring(std::string_view material);

// Reads a key file (a mounted Secret works the same way: mount it with
// defaultMode 0400). A file that group or others may read or write is
// refused: the key would not be secret.
Result<Keyring> load_keyring_file(const std::string& path);
// The current (first) key of a key file.
Result<EncryptionKey> load_key_file(const std::string& path);

}  // namespace wscp::store
