#include "store/manifest.h"

#include <ctime>

#include "common/time_format.h"
#include <set>

#include "store/crypto.h"
#include "store/encryption.h"
#include "store/layout.h"
#include "store/object_store.h"
#include "store/segment.h"

namespace wscp::store {

using nlohmann::json;

std::uint64_t json_u64(const json& j, const char* name) {
  const json& v = j.at(name);
  if (!v.is_number_unsigned()) {
    throw std::invalid_argument(std::string("'") + name + "' must be a non-negative integer, not " +
                                v.dump().substr(0, 40));
  }
  return v.get<std::uint64_t>();
}

namespace {

int json_int(const json& j, const char* name, int min, int max) {
  const json& v = j.at(name);
  if (!v.is_number_integer() || v.get<long long>() < min || v.get<long long>() > max) {
    throw std::invalid_argument(std::string("'") + name + "' must be an integer from " + std::to_string(min) +
                                " to " + std::to_string(max) + ", not " + v.dump().substr(0, 40));
  }
  return v.get<int>();
}

}  // namespace

void to_json(json& j, const EncryptionInfo& v) { j = json{{"algorithm", v.algorithm}, {"key_id", v.key_id}}; }
void from_json(const json& j, EncryptionInfo& v) {
  j.at("algorithm").get_to(v.algorithm);
  j.at("key_id").get_to(v.key_id);
}

void to_json(json& j, const StreamDigests& v) {
  j = json{{"size", v.size}, {"sha256", v.sha256}, {"part_size", v.part_size}, {"parts", v.parts}};
}
void from_json(const json& j, StreamDigests& v) {
  v.size = json_u64(j, "size");
  j.at("sha256").get_to(v.sha256);
  v.part_size = json_u64(j, "part_size");
  j.at("parts").get_to(v.parts);
}

void to_json(json& j, const ArchiveObject& v) {
  j = json{{"key", v.key},
           {"compression", to_string(v.compression)},
           {"compression_level", v.compression_level},
           {"encryption", v.encryption ? json(*v.encryption) : json(nullptr)},
           {"stored", v.stored},
           {"plain_size", v.plain_size},
           {"plain_sha256", v.plain_sha256}};
  // Absent for a single object, so that such a description reads as before.
  if (v.segmented()) {
    j["segments"] = json{{"count", v.segments}, {"segment_size", v.segment_size}, {"upload", v.upload}};
  }
}
void from_json(const json& j, ArchiveObject& v) {
  j.at("key").get_to(v.key);
  auto compression = parse_compression(j.at("compression").get<std::string>());
  if (!compression) throw std::invalid_argument(compression.error().message());
  v.compression = *compression;
  v.compression_level = json_int(j, "compression_level", -131072, 22);
  const json& enc = j.at("encryption");
  if (enc.is_null()) {
    v.encryption.reset();
  } else {
    v.encryption = enc.get<EncryptionInfo>();
  }
  j.at("stored").get_to(v.stored);
  v.plain_size = json_u64(j, "plain_size");
  j.at("plain_sha256").get_to(v.plain_sha256);
  auto segments = j.find("segments");
  if (segments == j.end() || segments->is_null()) {
    v.segments = 0;
    v.segment_size = 0;
    v.upload.clear();
  } else {
    v.segments = json_u64(*segments, "count");
    v.segment_size = json_u64(*segments, "segment_size");
    segments->at("upload").get_to(v.upload);
    if (v.segments == 0) throw std::invalid_argument("'segments.count' must be at least 1");
  }
}

void to_json(json& j, const ImageBlob& v) {
  j = json{{"id", v.id}, {"names", v.names}, {"format", v.format}, {"archive", v.archive}};
}
void from_json(const json& j, ImageBlob& v) {
  j.at("id").get_to(v.id);
  j.at("names").get_to(v.names);
  j.at("format").get_to(v.format);
  j.at("archive").get_to(v.archive);
}

void to_json(json& j, const ContainerEntry& v) {
  j = json{{"name", v.name}, {"image_id", v.image_id}, {"archive", v.archive}, {"facts", v.facts}};
}
void from_json(const json& j, ContainerEntry& v) {
  j.at("name").get_to(v.name);
  j.at("image_id").get_to(v.image_id);
  j.at("archive").get_to(v.archive);
  v.facts = j.value("facts", json::object());
}

void to_json(json& j, const ManifestAuth& v) {
  j = json{{"algorithm", v.algorithm}, {"key_id", v.key_id}, {"mac", v.mac}};
}
void from_json(const json& j, ManifestAuth& v) {
  j.at("algorithm").get_to(v.algorithm);
  j.at("key_id").get_to(v.key_id);
  j.at("mac").get_to(v.mac);
}

void to_json(json& j, const Manifest& v) {
  j = json{{"version", v.version},           {"checkpoint_id", v.checkpoint_id},
           {"workspace_id", v.workspace_id}, {"node", v.node},
           {"created_at", v.created_at},     {"containers", v.containers},
           {"images", v.images},             {"facts", v.facts}};
  if (v.auth) j["auth"] = *v.auth;
}
void from_json(const json& j, Manifest& v) {
  j.at("version").get_to(v.version);
  j.at("checkpoint_id").get_to(v.checkpoint_id);
  j.at("workspace_id").get_to(v.workspace_id);
  j.at("node").get_to(v.node);
  j.at("created_at").get_to(v.created_at);
  j.at("containers").get_to(v.containers);
  j.at("images").get_to(v.images);
  v.facts = j.value("facts", json::object());
  if (j.contains("auth")) {
    v.auth = j.at("auth").get<ManifestAuth>();
  } else {
    v.auth.reset();
  }
}

namespace {

constexpr std::string_view kMacAlgorithm = "hmac-sha256";

Status validate_archive(const ArchiveObject& a, const std::string& where, std::string_view required_prefix) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kInvalidArgument, (where.empty() ? "" : where + ": ") + why);
  };
  auto st = validate_key(a.key);
  if (!st) return where.empty() ? st.error() : st.error().wrap(where);
  if (a.key.rfind(required_prefix, 0) != 0) {
    return bad("object key '" + a.key + "' lies outside '" + std::string(required_prefix) + "'");
  }
  if (!is_sha256_hex(a.stored.sha256) || !is_sha256_hex(a.plain_sha256)) {
    return bad("a SHA-256 is not 64 lower-case hex digits");
  }
  if (a.segmented()) {
    if (a.segment_size == 0 || a.segment_size > kMaxSegmentSize) {
      return bad("segment size " + std::to_string(a.segment_size) + " is out of range (1 to " +
                 std::to_string(kMaxSegmentSize) + ")");
    }
    if (a.segments > kMaxSegments) return bad("has more than " + std::to_string(kMaxSegments) + " segments");
    if (a.upload.size() != 32 || a.upload.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return bad("the upload id is not 32 lower-case hex digits");
    }
    if (a.stored.part_size != a.segment_size) return bad("the part size differs from the segment size");
    std::uint64_t expected = a.stored.size / a.segment_size + (a.stored.size % a.segment_size != 0);
    if (expected == 0) expected = 1;  // an empty archive has one empty segment
    if (a.segments != expected) {
      return bad("records " + std::to_string(a.segments) + " segments for " + std::to_string(a.stored.size) +
                 " stored bytes in segments of " + std::to_string(a.segment_size));
    }
    if (a.stored.parts.size() != a.segments) {
      return bad("has " + std::to_string(a.stored.parts.size()) + " part digests for " +
                 std::to_string(a.segments) + " segments");
    }
    for (const auto& p : a.stored.parts) {
      if (!is_sha256_hex(p)) return bad("a part SHA-256 is not 64 lower-case hex digits");
    }
  } else if (a.stored.part_size != 0) {
    std::uint64_t expected_parts = a.stored.size / a.stored.part_size + (a.stored.size % a.stored.part_size != 0);
    if (a.stored.parts.size() != expected_parts) {
      return bad("has " + std::to_string(a.stored.parts.size()) + " part digests for " +
                 std::to_string(expected_parts) + " parts");
    }
    for (const auto& p : a.stored.parts) {
      if (!is_sha256_hex(p)) return bad("a part SHA-256 is not 64 lower-case hex digits");
    }
  } else if (!a.stored.parts.empty()) {
    return bad("has part digests but no part size");
  }
  if (a.encryption && a.encryption->algorithm != kEncryptionAlgorithm) {
    return bad("encryption '" + a.encryption->algorithm.substr(0, 64) + "' is not supported (only " +
               std::string(kEncryptionAlgorithm) + ")");
  }
  if (a.encryption && (a.encryption->key_id.empty() || a.encryption->key_id.size() > 64)) {
    return bad("the encryption key id is empty or longer than 64 characters");
  }
  return Ok{};
}

json unsigned_view(json j) {
  j.erase("auth");
  return j;
}

std::string mac_of(const json& unsigned_manifest, const EncryptionKey& key) {
  auto mac_key = key.derive("manifest mac");
  return to_hex(hmac_sha256(mac_key, "wscp manifest v1\n" + unsigned_manifest.dump()));
}

}  // namespace

Status validate_archive_object(const ArchiveObject& a, std::string_view required_prefix) {
  return validate_archive(a, "", required_prefix);
}

Status validate_manifest(const Manifest& m) {
  if (m.version < kOldestManifestVersion || m.version > kManifestVersion) {
    return Error(ErrorCode::kUnsupported, "manifest version " + std::to_string(m.version) +
                                              " is not supported (this wscp reads versions " +
                                              std::to_string(kOldestManifestVersion) + " to " +
                                              std::to_string(kManifestVersion) + "): upgrade wscp");
  }
  if (m.version == 1) {
    // Version 1 knows only single objects; a segmented archive in it would
    // be read by an older wscp as one missing object.
    for (const auto& c : m.containers) {
      if (c.archive.segmented()) {
        return Error(ErrorCode::kInvalidArgument, "manifest: version 1 cannot record the segmented archive of "
                                                  "container " + c.name);
      }
    }
    for (const auto& img : m.images) {
      if (img.archive.segmented()) {
        return Error(ErrorCode::kInvalidArgument, "manifest: version 1 cannot record the segmented image " + img.id);
      }
    }
  }
  for (auto st : {validate_name(m.workspace_id, "workspace id"), validate_name(m.checkpoint_id, "checkpoint id")}) {
    if (!st) return st.error().wrap("manifest");
  }
  if (m.node.empty()) return Error(ErrorCode::kInvalidArgument, "manifest: node is empty");
  std::string prefix = layout::checkpoint_prefix(m.workspace_id, m.checkpoint_id);
  std::set<std::string> names;
  for (const auto& c : m.containers) {
    auto st = validate_name(c.name, "container name");
    if (!st) return st.error().wrap("manifest");
    if (!names.insert(c.name).second) {
      return Error(ErrorCode::kInvalidArgument, "manifest: container '" + c.name + "' is listed twice");
    }
    if (!c.image_id.empty()) {
      st = validate_image_digest(c.image_id);
      if (!st) return st.error().wrap("manifest: container " + c.name);
    }
    st = validate_archive(c.archive, "manifest: container " + c.name, prefix);
    if (!st) return st;
  }
  std::set<std::string> ids;
  for (const auto& img : m.images) {
    auto st = validate_image_digest(img.id);
    if (!st) return st.error().wrap("manifest");
    if (!ids.insert(img.id).second) {
      return Error(ErrorCode::kInvalidArgument, "manifest: image " + img.id + " is listed twice");
    }
    // Blobs live under their content address: images/sha256/<hex>/blob-*.
    st = validate_archive(img.archive, "manifest: image " + img.id, layout::image_key(img.id) + "/");
    if (!st) return st;
  }
  if (!m.facts.is_object()) return Error(ErrorCode::kInvalidArgument, "manifest: facts must be a JSON object");
  return Ok{};
}

std::string serialize_manifest(const Manifest& m, const EncryptionKey* mac_key) {
  Manifest copy = m;
  copy.auth.reset();
  json j = copy;
  if (mac_key != nullptr) {
    j["auth"] = ManifestAuth{std::string(kMacAlgorithm), mac_key->id, mac_of(j, *mac_key)};
  }
  return j.dump(2) + "\n";
}

Result<Manifest> parse_manifest(std::string_view text, const EncryptionKey* mac_key) {
  Keyring keys;
  if (mac_key != nullptr) keys.add(*mac_key);
  return parse_manifest(text, keys);
}

Result<Manifest> parse_manifest(std::string_view text, const Keyring& mac_keys) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return Error(ErrorCode::kInvalidArgument, std::string("manifest is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) return Error(ErrorCode::kInvalidArgument, "manifest is not a JSON object");
  // The version decides how to read the rest, so it is checked first.
  auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer()) {
    return Error(ErrorCode::kInvalidArgument, "manifest has no integer 'version' field: it is not a wscp manifest");
  }
  if (version->get<long long>() < kOldestManifestVersion || version->get<long long>() > kManifestVersion) {
    return Error(ErrorCode::kUnsupported, "manifest version " + version->dump().substr(0, 40) +
                                              " is not supported (this wscp reads versions " +
                                              std::to_string(kOldestManifestVersion) + " to " +
                                              std::to_string(kManifestVersion) + "): upgrade wscp");
  }
  Manifest m;
  try {
    m = j.get<Manifest>();
  } catch (const std::exception& e) {
    return Error(ErrorCode::kInvalidArgument, std::string("manifest is malformed: ") + e.what());
  }
  // Authenticate before trusting anything else it says.
  if (!mac_keys.empty()) {
    if (!m.auth) {
      return Error(ErrorCode::kIntegrity,
                   "manifest is not authenticated but a key is configured: refusing it (it may have been "
                   "replaced; restore from a checkpoint written with the key)");
    }
    if (m.auth->algorithm != kMacAlgorithm) {
      return Error(ErrorCode::kIntegrity, "manifest authentication '" + m.auth->algorithm + "' is not supported");
    }
    const EncryptionKey* mac_key = mac_keys.find(m.auth->key_id);
    if (mac_key == nullptr) {
      return Error(ErrorCode::kPermissionDenied, "manifest was authenticated with key " + m.auth->key_id.substr(0, 64) +
                                                     " but the configured keys are " + mac_keys.ids() +
                                                     ": configure the key the checkpoint was made with (an older "
                                                     "key goes after the current one in the key file)");
    }
    if (!equal_constant_time(m.auth->mac, mac_of(unsigned_view(j), *mac_key))) {
      return Error(ErrorCode::kIntegrity, "manifest MAC does not match: the manifest was altered; refusing it");
    }
  } else if (m.auth) {
    return Error(ErrorCode::kPermissionDenied, "manifest is authenticated with key " + m.auth->key_id +
                                                   " but no key is configured: configure that key to verify it");
  }
  auto st = validate_manifest(m);
  if (!st) return st.error();
  return m;
}

std::string format_rfc3339(std::chrono::system_clock::time_point t) {
  return utc_rfc3339(t);
}

}  // namespace wscp::store
