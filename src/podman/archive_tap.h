#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "common/stream.h"
#include "podman/types.h"

namespace wscp::podman {

// Passes an exported checkpoint (a tar stream) on to the next sink unchanged,
// reading the tar headers on the way so that small members with facts
// (CRIU's stats-dump, for instance) are captured without a second pass or a
// temporary file. Memory stays bounded: only the named members, up to
// kMaxMember bytes each, are kept.
class ArchiveTap final : public ByteSink {
 public:
  static constexpr std::size_t kMaxMember = 1 << 20;

  ArchiveTap(ByteSink& next, std::set<std::string> members_to_capture)
      : next_(next), wanted_(std::move(members_to_capture)) {}

  Status write(std::span<const std::byte> data) override;
  Status close() override { return next_.close(); }

  std::uint64_t bytes() const { return bytes_; }
  std::optional<std::string> member(const std::string& name) const;
  // Whether the tar's end-of-archive marker went past.
  bool saw_end() const { return state_ == State::kEnd; }

 private:
  enum class State { kHeader, kData, kEnd };
  void consume(const std::byte* p, std::size_t n);
  void on_header();

  ByteSink& next_;
  std::set<std::string> wanted_;
  std::map<std::string, std::string> captured_;
  std::uint64_t bytes_ = 0;

  State state_ = State::kHeader;
  std::string header_;           // the 512-byte header being assembled
  std::uint64_t data_left_ = 0;  // bytes of member data (with padding) to skip
  std::uint64_t member_left_ = 0;  // of which real data
  std::string current_;          // name of the member whose data is passing
  std::string long_name_;        // from a GNU 'L' or pax 'x' entry, for the next header
  bool capturing_ = false;
  char meta_type_ = 0;           // 'L' or 'x' when the data is metadata
  std::string meta_;
};

// CRIU's stats-dump image: magic, length, then a protobuf StatsEntry whose
// field 1 is the dump statistics. Returns nullopt when it is not one.
std::optional<CheckpointStats> parse_stats_dump(const std::string& image);

}  // namespace wscp::podman
