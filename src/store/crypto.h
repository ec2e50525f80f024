#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace wscp::store {

using Digest = std::array<std::uint8_t, 32>;

// Incremental SHA-256 (OpenSSL EVP).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(std::span<const std::byte> data);
  void update(std::string_view data);
  // Returns the digest and starts over.
  Digest finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Digest sha256(std::string_view data);
std::string sha256_hex(std::string_view data);
Digest hmac_sha256(std::span<const std::uint8_t> key, std::string_view data);

std::string to_hex(std::span<const std::uint8_t> bytes);
// Lower-case hex of exactly 64 characters; false otherwise.
bool is_sha256_hex(std::string_view text);

// Constant-time comparison for MACs and digests.
bool equal_constant_time(std::string_view a, std::string_view b);

// Cryptographically secure random bytes (OpenSSL RAND_bytes).
void random_bytes(std::span<std::uint8_t> out);
std::string random_hex(std::size_t bytes);

}  // namespace wscp::store
