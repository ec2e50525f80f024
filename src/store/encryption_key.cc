#include "store/encryption_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "store/crypto.h"

namespace wscp::store {

std::array<std::uint8_t, 32> EncryptionKey::derive(std::string_view purpose) const {
  return hmac_sha256(bytes, std::string("wscp key derivation\0", 20) + std::string(purpose));
}

Keyring::Keyring(std::vector<EncryptionKey> keys) {
  for (const auto& k : keys) add(k);
}

const EncryptionKey* Keyring::find(std::string_view id) const {
  for (const auto& k : keys_) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

void Keyring::add(const EncryptionKey& key) {
  if (find(key.id) == nullptr) keys_.push_back(key);
}

std::string Keyring::ids() const {
  std::string out;
  for (const auto& k : keys_) out += (out.empty() ? "" : ", ") + k.id;
  return out.empty() ? "none" : out;
}

EncryptionKey make_key(const std::array<std::uint8_t, 32>& bytes) {
  EncryptionKey key;
  key.bytes = bytes;
  auto fp = hmac_sha256(bytes, "wscp key id");
  key.id = "kid-" + to_hex(std::span(fp).first(8));
  return key;
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<EncryptionKey> parse_hex_key(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() != 64) return std::nullopt;
  std::array<std::uint8_t, 32> bytes{};
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = nibble(hex[2 * i]);
    int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return make_key(bytes);
}

const char* kFormat = "an encryption key must be 32 raw bytes or 64 hex digits (e.g. `openssl rand -hex 32`)";

}  // namespace

Result<EncryptionKey> parse_key(std::string_view material) {
  if (material.size() == 32) {
    std::array<std::uint8_t, 32> bytes{};
    for (std::size_t i = 0; i < 32; ++i) bytes[i] = static_cast<std::uint8_t>(material[i]);
    return make_key(bytes);
  }
  if (auto key = parse_hex_key(trim(material))) return *key;
  return Error(ErrorCode::kInvalidArgument, kFormat);
}

Result<Keyring> parse_keyring(std::string_view material) {
  if (material.size() == 32) {
    auto key = parse_key(material);
    if (!key) return key.error();
    return Keyring({*key});
  }
  Keyring ring;
  std::size_t line_no = 0;
  while (!material.empty()) {
    auto nl = material.find('\n');
    std::string_view line = trim(material.substr(0, nl));
    material = nl == std::string_view::npos ? std::string_view() : material.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    auto key = parse_hex_key(line);
    if (!key) {
      return Error(ErrorCode::kInvalidArgument, "line " + std::to_string(line_no) + ": " + kFormat +
                                                    "; a file of several keys has one 64-hex-digit key per line, "
                                                    "the current key first");
    }
    if (ring.find(key->id) != nullptr) {
      return Error(ErrorCode::kInvalidArgument, "line " + std::to_string(line_no) + ": key " + key->id +
                                                    " is listed twice");
    }
    ring.add(*key);
  }
  if (ring.empty()) return Error(ErrorCode::kInvalidArgument, std::string("no key found: ") + kFormat);
  return ring;
}

Result<Keyring> load_keyring_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return Error(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kPermissionDenied,
                 "cannot read the key file " + path + ": " + std::strerror(err) +
                     " (check the path and that the Secret is mounted)");
  }
  struct stat sb {};
  std::string text;
  Status st = Ok{};
  if (::fstat(fd, &sb) != 0) {
    st = Error(ErrorCode::kUnavailable, "cannot stat the key file " + path + ": " + std::strerror(errno));
  } else if (!S_ISREG(sb.st_mode)) {
    st = Error(ErrorCode::kInvalidArgument, "the key file " + path + " is not a regular file");
  } else if ((sb.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(sb.st_mode & 07777));
    st = Error(ErrorCode::kPermissionDenied,
               "the key file " + path + " has mode " + mode +
                   ": group or others may read or change it, so the key is not secret; run `chmod 600 " + path +
                   "` (in Kubernetes, mount the Secret with defaultMode: 0400)");
  } else if (sb.st_size > 64 * 1024) {
    st = Error(ErrorCode::kInvalidArgument, "the key file " + path + " is larger than 64 KiB: it is not a key file");
  } else {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        st = Error(ErrorCode::kUnavailable, "cannot read the key file " + path + ": " + std::strerror(errno));
        break;
      }
      if (n == 0) break;
      text.append(buf, static_cast<std::size_t>(n));
      if (text.size() > 64 * 1024) break;
    }
  }
  ::close(fd);
  if (!st) return st.error();
  auto ring = parse_keyring(text);
  if (!ring) return ring.error().wrap("key file " + path);
  return ring;
}

Result<EncryptionKey> load_key_file(const std::string& path) {
  auto ring = load_keyring_file(path);
  if (!ring) return ring.error();
  return *ring->current();
}

}  // namespace wscp::store
