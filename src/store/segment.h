#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "store/compression.h"
#include "store/encryption_key.h"
#include "store/manifest.h"

namespace wscp::store {

// An archive's stored bytes are a sequence of segment objects
// <archive key>/000000, <archive key>/000001, ... Each object is
//
//   data (segment_size bytes; the last segment may be shorter)
//   trailer: JSON text, its length (4 bytes, big-endian), kSegmentMagic
//
// and is verifiable alone, before the manifest exists: the trailer names the
// archive, this writing of it (`upload`, random), the segment's index, its
// size and SHA-256, and whether it is the last one; the last one carries the
// archive's totals. With a key the trailer carries an HMAC-SHA256 over all
// of that, so a segment cannot be moved to another archive or index, mixed
// with another writing of the same archive, or made to look like the end.
inline constexpr std::string_view kSegmentMagic = "WSCPSEG1";
inline constexpr std::size_t kMaxSegmentTrailer = 8192;
inline constexpr std::uint64_t kMaxSegmentSize = 256ull << 20;
inline constexpr std::uint64_t kMaxSegments = 1'000'000;  // keys have 6 digits

// The archive's totals, in the last segment's trailer.
struct SegmentTotals {
  std::uint64_t segments = 0;
  std::uint64_t stored_size = 0;
  std::string stored_sha256;
  std::uint64_t plain_size = 0;
  std::string plain_sha256;
};

struct SegmentTrailer {
  std::string archive;  // the archive key
  std::string upload;   // 32 hex digits, the same in every segment of one writing
  std::uint64_t index = 0;
  std::uint64_t segment_size = 0;  // nominal: every segment but the last has exactly this size
  std::uint64_t size = 0;          // data bytes in this segment
  std::string sha256;              // of the data, hex
  Compression compression = Compression::kNone;
  std::optional<EncryptionInfo> encryption;
  bool last = false;
  std::optional<SegmentTotals> totals;  // exactly on the last segment
  std::optional<ManifestAuth> auth;     // set by seal_segment_trailer with a key
};

void to_json(nlohmann::json& j, const SegmentTotals& v);
void from_json(const nlohmann::json& j, SegmentTotals& v);
void to_json(nlohmann::json& j, const SegmentTrailer& v);
void from_json(const nlohmann::json& j, SegmentTrailer& v);

// "<archive key>/000042".
std::string segment_key(std::string_view archive_key, std::uint64_t index);

// The bytes appended to a segment's data: the trailer (with a MAC when a key
// is given), its length and the magic.
std::string seal_segment_trailer(const SegmentTrailer& trailer, const EncryptionKey* mac_key);

struct ParsedSegment {
  SegmentTrailer trailer;
  std::size_t data_size = 0;  // the data is the object's first data_size bytes
};

// Parses and checks a whole segment object read back from the store (hostile
// input): the magic, the trailer's fields, its MAC (with keys: required and
// made by one of them; without: refused when present), that the data has the
// size and SHA-256 the trailer states. kIntegrity naming `where` when
// anything is wrong; kPermissionDenied for a key that is not configured.
// Never throws.
Result<ParsedSegment> parse_segment(std::span<const std::byte> object, const Keyring& mac_keys,
                                    const std::string& where);

}  // namespace wscp::store
