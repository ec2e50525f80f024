#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "store/compression.h"
#include "store/digests.h"
#include "store/encryption_key.h"

namespace wscp::store {

// Version 2: archives may be segmented (ArchiveObject::segments). Version 1
// (one object per archive) is still read.
inline constexpr int kManifestVersion = 2;
inline constexpr int kOldestManifestVersion = 1;

struct EncryptionInfo {
  std::string algorithm;  // kEncryptionAlgorithm
  std::string key_id;
};

// One stored object made by the pipeline (a container archive or an image).
struct ArchiveObject {
  std::string key;
  Compression compression = Compression::kNone;
  int compression_level = 0;
  std::optional<EncryptionInfo> encryption;
  StreamDigests stored;           // the bytes in the store, per part too
  std::uint64_t plain_size = 0;   // the tar Podman produced
  std::string plain_sha256;
  // The layout. segments == 0: one object at `key` (the version-1 layout).
  // Otherwise `segments` objects <key>/000000 ... (see segment.h), each
  // holding segment_size stored bytes (the last may hold fewer) and a
  // trailer; stored.part_size == segment_size and stored.parts holds each
  // segment's SHA-256 (an empty archive has one empty segment).
  std::uint64_t segment_size = 0;
  std::uint64_t segments = 0;
  std::string upload;  // 32 hex digits: the writing the segments belong to

  bool segmented() const { return segments != 0; }
};

// An image shipped beside the archives, content-addressed by its id.
struct ImageBlob {
  std::string id;                  // sha256:<hex>, Podman's image id
  std::vector<std::string> names;  // e.g. localhost/wscp-testbox:latest
  std::string format;              // e.g. oci-archive
  ArchiveObject archive;
};

struct ContainerEntry {
  std::string name;
  std::string image_id;            // sha256:<hex>, may be empty
  ArchiveObject archive;
  // What the engine recorded at checkpoint time (runtime, networks, mounts,
  // labels, dump order ...) for the restore pre-flight. Opaque to the store;
  // authenticated with the rest of the manifest.
  nlohmann::json facts = nlohmann::json::object();
};

struct ManifestAuth {
  std::string algorithm;  // "hmac-sha256"
  std::string key_id;
  std::string mac;        // hex
};

// The description of one complete checkpoint. Written last: its presence
// means every object it names is complete.
struct Manifest {
  int version = kManifestVersion;
  std::string checkpoint_id;
  std::string workspace_id;
  std::string node;
  std::string created_at;  // RFC 3339, UTC: 2026-11-23T09:41:00Z
  std::vector<ContainerEntry> containers;
  std::vector<ImageBlob> images;
  nlohmann::json facts = nlohmann::json::object();  // workspace-level (project, primary service, ...)
  std::optional<ManifestAuth> auth;                  // set by sign_manifest
};

void to_json(nlohmann::json& j, const EncryptionInfo& v);
void from_json(const nlohmann::json& j, EncryptionInfo& v);
void to_json(nlohmann::json& j, const StreamDigests& v);
void from_json(const nlohmann::json& j, StreamDigests& v);
void to_json(nlohmann::json& j, const ArchiveObject& v);
void from_json(const nlohmann::json& j, ArchiveObject& v);
void to_json(nlohmann::json& j, const ImageBlob& v);
void from_json(const nlohmann::json& j, ImageBlob& v);
void to_json(nlohmann::json& j, const ContainerEntry& v);
void from_json(const nlohmann::json& j, ContainerEntry& v);
void to_json(nlohmann::json& j, const ManifestAuth& v);
void from_json(const nlohmann::json& j, ManifestAuth& v);
void to_json(nlohmann::json& j, const Manifest& v);
void from_json(const nlohmann::json& j, Manifest& v);

// Semantic checks beyond the JSON shape: names, keys (no traversal, inside
// the checkpoint or the image area), digests, sizes, unique containers.
Status validate_manifest(const Manifest& m);
// The same checks for one stored object's description (wherever it was
// read from): its key is valid and starts with `required_prefix`, digests
// are 64 lower-case hex digits, the part digests match the size, the
// encryption algorithm is known. kInvalidArgument saying what is wrong.
Status validate_archive_object(const ArchiveObject& a, std::string_view required_prefix);

// Serialises, adding an HMAC-SHA256 over everything else when a key is given.
std::string serialize_manifest(const Manifest& m, const EncryptionKey* mac_key);

// Parses and checks untrusted text. With keys, the manifest must carry a MAC
// made with one of them (the current key or an older one, by its id);
// without any, an authenticated manifest is refused (the key that would
// vouch for it is missing). Never throws.
Result<Manifest> parse_manifest(std::string_view text, const Keyring& mac_keys);
Result<Manifest> parse_manifest(std::string_view text, const EncryptionKey* mac_key);

// Reads an unsigned integer field strictly: a negative, fractional or
// non-numeric value throws std::invalid_argument naming the field (for the
// from_json functions, whose callers turn exceptions into errors).
std::uint64_t json_u64(const nlohmann::json& j, const char* name);

std::string format_rfc3339(std::chrono::system_clock::time_point t);

}  // namespace wscp::store
