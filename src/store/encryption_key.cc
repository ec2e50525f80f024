#include "store/encryption_key.h"

#include <fstream>
#include <sstream>

#include "store/crypto.h"

namespace wscp::store {

std::array<std::uint8_t, 32> EncryptionKey::derive(std::string_view purpose) const {
  return hmac_sha256(bytes, std::string("wscp key derivation\0", 20) + std::string(purpose));
}

EncryptionKey make_key(const std::array<std::uint8_t, 32>& bytes) {
  EncryptionKey key;
  key.bytes = bytes;
  auto fp = hmac_sha256(bytes, "wscp key id");
  key.id = "kid-" + to_hex(std::span(fp).first(8));
  return key;
}

Result<EncryptionKey> parse_key(std::string_view material) {
  if (material.size() == 32) {
    std::array<std::uint8_t, 32> bytes{};
    for (std::size_t i = 0; i < 32; ++i) bytes[i] = static_cast<std::uint8_t>(material[i]);
    return make_key(bytes);
  }
  auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!material.empty() && is_space(material.front())) material.remove_prefix(1);
  while (!material.empty() && is_space(material.back())) material.remove_suffix(1);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (material.size() == 64) {
    std::array<std::uint8_t, 32> bytes{};
    bool ok = true;
    for (std::size_t i = 0; i < 32 && ok; ++i) {
      int hi = nibble(material[2 * i]);
      int lo = nibble(material[2 * i + 1]);
      ok = hi >= 0 && lo >= 0;
      bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    if (ok) return make_key(bytes);
  }
  return Error(ErrorCode::kInvalidArgument,
               "an encryption key must be 32 raw bytes or 64 hex digits (e.g. `openssl rand -hex 32`)");
}

Result<EncryptionKey> load_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error(ErrorCode::kNotFound, "cannot read the encryption key file " + path +
                                           ": check the path and that the Secret is mounted");
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto key = parse_key(text.str());
  if (!key) return key.error().wrap("key file " + path);
  return key;
}

}  // namespace wscp::store
