#include "store/encryption.h"

#include <openssl/evp.h>

#include <cstring>

#include "store/crypto.h"

namespace wscp::store {
namespace {

constexpr char kMagic[8] = {'W', 'S', 'C', 'P', 'A', 'E', '0', '1'};
constexpr std::size_t kTag = 16;
constexpr std::size_t kSalt = 32;
constexpr std::size_t kMaxChunk = 16 * 1024 * 1024;

EVP_CIPHER_CTX* ctx_of(void* p) { return static_cast<EVP_CIPHER_CTX*>(p); }

std::array<std::uint8_t, 32> archive_key(const EncryptionKey& key, std::span<const std::byte> salt) {
  auto master = key.derive("archive encryption");
  return hmac_sha256(master, std::string_view(reinterpret_cast<const char*>(salt.data()), salt.size()));
}

std::array<std::uint8_t, 12> nonce_for(std::uint64_t index, bool final) {
  std::array<std::uint8_t, 12> nonce{};
  for (int i = 0; i < 8; ++i) nonce[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(index >> (56 - 8 * i));
  nonce[11] = final ? 1 : 0;
  return nonce;
}

// Seals or opens one chunk. For open, `in` holds ciphertext + tag.
bool crypt_chunk(EVP_CIPHER_CTX* ctx, bool encrypt, const std::array<std::uint8_t, 32>& key,
                 std::uint64_t index, bool final, std::span<const std::byte> aad,
                 std::span<const std::byte> in, std::vector<std::byte>& out) {
  auto nonce = nonce_for(index, final);
  auto u8 = [](const std::byte* p) { return reinterpret_cast<const unsigned char*>(p); };
  std::size_t text_len = encrypt ? in.size() : in.size() - kTag;
  out.resize(text_len + (encrypt ? kTag : 0));
  int len = 0;
  if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(), nonce.data(), encrypt ? 1 : 0) != 1) return false;
  if (EVP_CipherUpdate(ctx, nullptr, &len, u8(aad.data()), static_cast<int>(aad.size())) != 1) return false;
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  if (text_len > 0 &&
      EVP_CipherUpdate(ctx, dst, &len, u8(in.data()), static_cast<int>(text_len)) != 1) {
    return false;
  }
  if (!encrypt) {
    std::array<unsigned char, kTag> tag{};
    std::memcpy(tag.data(), in.data() + text_len, kTag);
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTag, tag.data()) != 1) return false;
  }
  int final_len = 0;
  if (EVP_CipherFinal_ex(ctx, dst + text_len, &final_len) != 1) return false;
  if (encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTag, dst + text_len) != 1) return false;
  return true;
}

void put_u32(std::vector<std::byte>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::byte>(v >> shift));
}

}  // namespace

Result<std::unique_ptr<EncryptingSink>> EncryptingSink::make(ByteSink& next, const EncryptionKey& key,
                                                             std::size_t chunk_size) {
  if (chunk_size == 0 || chunk_size > kMaxChunk) {
    return Error(ErrorCode::kInvalidArgument, "encryption chunk size must be 1 byte to 16 MiB");
  }
  if (key.id.empty() || key.id.size() > 64) return Error(ErrorCode::kInvalidArgument, "encryption key has no valid id");
  std::unique_ptr<EncryptingSink> sink(new EncryptingSink(next, chunk_size));
  sink->ctx_ = EVP_CIPHER_CTX_new();
  if (sink->ctx_ == nullptr) return Error(ErrorCode::kInternal, "OpenSSL: out of memory");
  auto& h = sink->header_;
  for (char c : kMagic) h.push_back(static_cast<std::byte>(c));
  put_u32(h, static_cast<std::uint32_t>(chunk_size));
  h.push_back(static_cast<std::byte>(key.id.size()));
  for (char c : key.id) h.push_back(static_cast<std::byte>(c));
  std::array<std::uint8_t, kSalt> salt{};
  random_bytes(salt);
  for (auto b : salt) h.push_back(static_cast<std::byte>(b));
  sink->archive_key_ = archive_key(key, std::span(h).last(kSalt));
  sink->plain_.reserve(chunk_size);
  return sink;
}

EncryptingSink::EncryptingSink(ByteSink& next, std::size_t chunk_size) : next_(next), chunk_size_(chunk_size) {}

EncryptingSink::~EncryptingSink() { EVP_CIPHER_CTX_free(ctx_of(ctx_)); }

Status EncryptingSink::emit(bool final) {
  if (!header_sent_) {
    auto st = next_.write(header_);
    if (!st) return st;
    header_sent_ = true;
  }
  if (!crypt_chunk(ctx_of(ctx_), true, archive_key_, index_, final, header_, plain_, sealed_)) {
    return Error(ErrorCode::kInternal, "AES-256-GCM encryption failed in OpenSSL");
  }
  ++index_;
  plain_.clear();
  return next_.write(sealed_);
}

Status EncryptingSink::write(std::span<const std::byte> data) {
  while (!data.empty()) {
    // A full chunk is sealed only once more data follows it, so the last
    // chunk is always the one flagged final.
    if (plain_.size() == chunk_size_) {
      auto st = emit(false);
      if (!st) return st;
    }
    std::size_t take = std::min(data.size(), chunk_size_ - plain_.size());
    plain_.insert(plain_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
    data = data.subspan(take);
  }
  return Ok{};
}

Status EncryptingSink::close() {
  auto st = emit(true);
  if (!st) return st;
  return next_.close();
}

DecryptingSource::DecryptingSource(ByteSource& upstream, const EncryptionKey& key)
    : upstream_(upstream), key_(key), ctx_(EVP_CIPHER_CTX_new()) {}

DecryptingSource::~DecryptingSource() { EVP_CIPHER_CTX_free(ctx_of(ctx_)); }

Result<std::size_t> DecryptingSource::fill(std::size_t want) {
  if (frame_.size() < want) frame_.resize(want);
  while (frame_len_ < want && !upstream_done_) {
    auto n = upstream_.read(std::span(frame_).subspan(frame_len_, want - frame_len_));
    if (!n) return n.error();
    if (*n == 0) upstream_done_ = true;
    frame_len_ += *n;
  }
  return frame_len_;
}

Status DecryptingSource::read_header() {
  auto truncated = Error(ErrorCode::kIntegrity, "encrypted archive is truncated inside its header");
  auto n = fill(sizeof kMagic + 5);
  if (!n) return n.error();
  if (*n < sizeof kMagic + 5) return truncated;
  if (std::memcmp(frame_.data(), kMagic, sizeof kMagic) != 0) {
    return Error(ErrorCode::kIntegrity,
                 "archive is not in the wscp encrypted format (bad magic): it was not encrypted by wscp or was altered");
  }
  std::size_t chunk = 0;
  for (std::size_t i = 0; i < 4; ++i) chunk = (chunk << 8) | std::to_integer<std::size_t>(frame_[8 + i]);
  std::size_t id_len = std::to_integer<std::size_t>(frame_[12]);
  if (chunk == 0 || chunk > kMaxChunk || id_len == 0 || id_len > 64) {
    return Error(ErrorCode::kIntegrity, "encrypted archive header is invalid (chunk size or key id length)");
  }
  std::size_t header_len = 13 + id_len + kSalt;
  n = fill(header_len);
  if (!n) return n.error();
  if (*n < header_len) return truncated;
  std::string id(reinterpret_cast<const char*>(frame_.data()) + 13, id_len);
  if (id != key_.id) {
    return Error(ErrorCode::kPermissionDenied, "archive was encrypted with key " + id + " but the configured key is " +
                                                   key_.id + ": configure the key the checkpoint was made with");
  }
  header_.assign(frame_.begin(), frame_.begin() + static_cast<std::ptrdiff_t>(header_len));
  archive_key_ = archive_key(key_, std::span(header_).last(kSalt));
  chunk_size_ = chunk;
  frame_.erase(frame_.begin(), frame_.begin() + static_cast<std::ptrdiff_t>(header_len));
  frame_len_ -= header_len;
  header_done_ = true;
  return Ok{};
}

Status DecryptingSource::next_chunk() {
  std::size_t sealed = chunk_size_ + kTag;
  // One byte of look-ahead tells a full middle chunk from a full final one.
  auto n = fill(sealed + 1);
  if (!n) return n.error();
  bool final = *n <= sealed;
  std::size_t len = final ? *n : sealed;
  if (len < kTag) {
    return Error(ErrorCode::kIntegrity, "encrypted archive is truncated (a chunk is shorter than its tag)");
  }
  if (!crypt_chunk(ctx_of(ctx_), false, archive_key_, index_, final, header_, std::span(frame_).first(len), plain_)) {
    return Error(ErrorCode::kIntegrity, "encrypted archive failed authentication at chunk " + std::to_string(index_) +
                                            ": it was truncated, reordered or altered and must not be used");
  }
  ++index_;
  plain_pos_ = 0;
  final_seen_ = final;
  frame_.erase(frame_.begin(), frame_.begin() + static_cast<std::ptrdiff_t>(len));
  frame_len_ -= len;
  return Ok{};
}

Result<std::size_t> DecryptingSource::read(std::span<std::byte> buffer) {
  if (ctx_ == nullptr) return Error(ErrorCode::kInternal, "OpenSSL: out of memory");
  if (!header_done_) {
    auto st = read_header();
    if (!st) return st.error();
  }
  while (plain_pos_ == plain_.size()) {
    if (final_seen_) return std::size_t{0};
    auto st = next_chunk();
    if (!st) return st.error();
  }
  std::size_t n = std::min(buffer.size(), plain_.size() - plain_pos_);
  std::memcpy(buffer.data(), plain_.data() + plain_pos_, n);
  plain_pos_ += n;
  return n;
}

}  // namespace wscp::store
