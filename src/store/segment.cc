#include "store/segment.h"

#include <cstdio>
#include <cstring>

#include "store/crypto.h"
#include "store/encryption.h"
#include "store/object_store.h"

namespace wscp::store {

using nlohmann::json;

namespace {

constexpr std::string_view kMacAlgorithm = "hmac-sha256";
constexpr std::size_t kLengthBytes = 4;

std::string mac_of(const json& unsigned_trailer, const EncryptionKey& key) {
  return to_hex(hmac_sha256(key.derive("segment mac"), "wscp segment v1\n" + unsigned_trailer.dump()));
}

bool is_lower_hex(std::string_view s, std::size_t n) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

void to_json(json& j, const SegmentTotals& v) {
  j = json{{"segments", v.segments},
           {"stored_size", v.stored_size},
           {"stored_sha256", v.stored_sha256},
           {"plain_size", v.plain_size},
           {"plain_sha256", v.plain_sha256}};
}
void from_json(const json& j, SegmentTotals& v) {
  v.segments = json_u64(j, "segments");
  v.stored_size = json_u64(j, "stored_size");
  j.at("stored_sha256").get_to(v.stored_sha256);
  v.plain_size = json_u64(j, "plain_size");
  j.at("plain_sha256").get_to(v.plain_sha256);
}

void to_json(json& j, const SegmentTrailer& v) {
  j = json{{"archive", v.archive},
           {"upload", v.upload},
           {"index", v.index},
           {"segment_size", v.segment_size},
           {"size", v.size},
           {"sha256", v.sha256},
           {"compression", to_string(v.compression)},
           {"encryption", v.encryption ? json(*v.encryption) : json(nullptr)},
           {"last", v.last}};
  if (v.totals) j["totals"] = *v.totals;
  if (v.auth) j["auth"] = *v.auth;
}
void from_json(const json& j, SegmentTrailer& v) {
  j.at("archive").get_to(v.archive);
  j.at("upload").get_to(v.upload);
  v.index = json_u64(j, "index");
  v.segment_size = json_u64(j, "segment_size");
  v.size = json_u64(j, "size");
  j.at("sha256").get_to(v.sha256);
  auto compression = parse_compression(j.at("compression").get<std::string>());
  if (!compression) throw std::invalid_argument(compression.error().message());
  v.compression = *compression;
  const json& enc = j.at("encryption");
  if (enc.is_null()) {
    v.encryption.reset();
  } else {
    v.encryption = enc.get<EncryptionInfo>();
  }
  const json& last = j.at("last");
  if (!last.is_boolean()) throw std::invalid_argument("'last' must be true or false");
  v.last = last.get<bool>();
  if (j.contains("totals")) {
    v.totals = j.at("totals").get<SegmentTotals>();
  } else {
    v.totals.reset();
  }
  if (j.contains("auth")) {
    v.auth = j.at("auth").get<ManifestAuth>();
  } else {
    v.auth.reset();
  }
}

std::string segment_key(std::string_view archive_key, std::uint64_t index) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%06llu", static_cast<unsigned long long>(index));
  return std::string(archive_key) + "/" + digits;
}

std::string seal_segment_trailer(const SegmentTrailer& trailer, const EncryptionKey* mac_key) {
  SegmentTrailer copy = trailer;
  copy.auth.reset();
  json j = copy;
  if (mac_key != nullptr) j["auth"] = ManifestAuth{std::string(kMacAlgorithm), mac_key->id, mac_of(j, *mac_key)};
  std::string out = j.dump();
  const auto n = static_cast<std::uint32_t>(out.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xFF));
  out += kSegmentMagic;
  return out;
}

Result<ParsedSegment> parse_segment(std::span<const std::byte> object, const Keyring& mac_keys,
                                    const std::string& where) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kIntegrity, where + ": " + why +
                                            "; the stored data was altered or damaged and must not be used "
                                            "(restore from another checkpoint)");
  };
  const std::size_t fixed = kLengthBytes + kSegmentMagic.size();
  if (object.size() < fixed) return bad("it is too short (" + std::to_string(object.size()) + " bytes) to be a segment");
  const auto* bytes = reinterpret_cast<const unsigned char*>(object.data());
  if (std::memcmp(bytes + object.size() - kSegmentMagic.size(), kSegmentMagic.data(), kSegmentMagic.size()) != 0) {
    return bad("it does not end with a segment trailer");
  }
  std::size_t len = 0;
  for (std::size_t i = 0; i < kLengthBytes; ++i) len = (len << 8) | bytes[object.size() - fixed + i];
  if (len == 0 || len > kMaxSegmentTrailer || len > object.size() - fixed) {
    return bad("its trailer length " + std::to_string(len) + " is out of range");
  }
  const std::size_t data_size = object.size() - fixed - len;
  std::string_view text(reinterpret_cast<const char*>(bytes + data_size), len);

  ParsedSegment out;
  out.data_size = data_size;
  SegmentTrailer& t = out.trailer;
  try {
    json j = json::parse(text);
    if (!j.is_object()) return bad("its trailer is not a JSON object");
    t = j.get<SegmentTrailer>();
    // Authenticate before trusting anything else it says.
    if (!mac_keys.empty()) {
      if (!t.auth) {
        return bad("its trailer is not authenticated but a key is configured (it may have been replaced)");
      }
      if (t.auth->algorithm != kMacAlgorithm) return bad("its trailer's authentication is not " + std::string(kMacAlgorithm));
      const EncryptionKey* key = mac_keys.find(t.auth->key_id);
      if (key == nullptr) {
        return Error(ErrorCode::kPermissionDenied,
                     where + " was authenticated with key " + t.auth->key_id.substr(0, 64) +
                         " but the configured keys are " + mac_keys.ids() +
                         ": configure the key the archive was written with (an older key goes after the current "
                         "one in the key file)");
      }
      json unsigned_trailer = j;
      unsigned_trailer.erase("auth");
      if (!equal_constant_time(t.auth->mac, mac_of(unsigned_trailer, *key))) {
        return bad("its trailer's MAC does not match");
      }
    } else if (t.auth) {
      return Error(ErrorCode::kPermissionDenied, where + " is authenticated with key " + t.auth->key_id.substr(0, 64) +
                                                     " but no key is configured: configure that key to verify it");
    }
  } catch (const std::exception& e) {
    return bad(std::string("its trailer is malformed (") + e.what() + ")");
  }

  if (auto st = validate_key(t.archive); !st) return bad("its trailer names an invalid archive key");
  if (!is_lower_hex(t.upload, 32)) return bad("its trailer's upload id is not 32 lower-case hex digits");
  if (t.segment_size == 0 || t.segment_size > kMaxSegmentSize) {
    return bad("its trailer's segment size " + std::to_string(t.segment_size) + " is out of range");
  }
  if (t.index >= kMaxSegments) return bad("its trailer's index is out of range");
  if (!is_sha256_hex(t.sha256)) return bad("its trailer's SHA-256 is not 64 lower-case hex digits");
  if (t.size != data_size) {
    return bad("it holds " + std::to_string(data_size) + " data bytes, its trailer says " + std::to_string(t.size));
  }
  if (t.size > t.segment_size || (!t.last && t.size != t.segment_size)) {
    return bad("its size " + std::to_string(t.size) + " does not fit the segment size " +
               std::to_string(t.segment_size));
  }
  if (t.last && t.size == 0 && t.index != 0) return bad("it is an empty last segment");
  if (t.encryption && t.encryption->algorithm != kEncryptionAlgorithm) {
    return bad("its trailer names an unsupported encryption");
  }
  if (t.encryption && (t.encryption->key_id.empty() || t.encryption->key_id.size() > 64)) {
    return bad("its trailer's encryption key id is empty or longer than 64 characters");
  }
  if (t.last != t.totals.has_value()) return bad("its trailer has totals but is not the last, or the reverse");
  if (t.totals) {
    const SegmentTotals& s = *t.totals;
    if (s.segments != t.index + 1) return bad("its trailer's segment count does not match its index");
    if (s.stored_size != t.index * t.segment_size + t.size) {
      return bad("its trailer's stored size does not match the segments");
    }
    if (!is_sha256_hex(s.stored_sha256) || !is_sha256_hex(s.plain_sha256)) {
      return bad("its trailer's totals have a SHA-256 that is not 64 lower-case hex digits");
    }
  }
  std::string_view data(reinterpret_cast<const char*>(bytes), data_size);
  if (!equal_constant_time(sha256_hex(data), t.sha256)) return bad("its data's SHA-256 differs from its trailer");
  return out;
}

}  // namespace wscp::store
