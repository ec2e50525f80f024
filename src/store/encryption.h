#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/stream.h"
#include "store/encryption_key.h"

namespace wscp::store {

// AES-256-GCM in authenticated chunks ("aes-256-gcm-chunked-v1").
//
// Layout: a header (magic, chunk size, key id, random salt), then chunks of
// `chunk size` plaintext bytes, each followed by its 16-byte tag; the last
// chunk is shorter or equal and flagged final. Each archive gets its own key
// (HMAC of the master key and the salt), the nonce is the chunk index plus
// the final flag and the header is the associated data of every chunk, so a
// reordered, dropped, duplicated or truncated chunk and an altered header all
// fail authentication.
inline constexpr std::string_view kEncryptionAlgorithm = "aes-256-gcm-chunked-v1";
inline constexpr std::size_t kDefaultEncryptionChunk = 256 * 1024;

class EncryptingSink : public ByteSink {
 public:
  static Result<std::unique_ptr<EncryptingSink>> make(ByteSink& next, const EncryptionKey& key,
                                                      std::size_t chunk_size = kDefaultEncryptionChunk);
  ~EncryptingSink() override;

  Status write(std::span<const std::byte> data) override;
  Status close() override;

 private:
  EncryptingSink(ByteSink& next, std::size_t chunk_size);
  Status emit(bool final);

  ByteSink& next_;
  std::size_t chunk_size_;
  std::array<std::uint8_t, 32> archive_key_{};
  std::vector<std::byte> header_;
  bool header_sent_ = false;
  std::vector<std::byte> plain_;
  std::vector<std::byte> sealed_;
  std::uint64_t index_ = 0;
  void* ctx_ = nullptr;  // EVP_CIPHER_CTX
};

class DecryptingSource : public ByteSource {
 public:
  DecryptingSource(ByteSource& upstream, const EncryptionKey& key);
  ~DecryptingSource() override;

  Result<std::size_t> read(std::span<std::byte> buffer) override;

 private:
  Status read_header();
  Status next_chunk();
  Result<std::size_t> fill(std::size_t want);

  ByteSource& upstream_;
  EncryptionKey key_;
  std::array<std::uint8_t, 32> archive_key_{};
  std::vector<std::byte> header_;
  std::size_t chunk_size_ = 0;
  std::vector<std::byte> frame_;     // sealed bytes read ahead
  std::size_t frame_len_ = 0;
  bool upstream_done_ = false;
  std::vector<std::byte> plain_;
  std::size_t plain_pos_ = 0;
  std::uint64_t index_ = 0;
  bool header_done_ = false;
  bool final_seen_ = false;
  void* ctx_ = nullptr;
};

}  // namespace wscp::store
