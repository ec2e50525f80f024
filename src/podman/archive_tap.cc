#include "podman/archive_tap.h"

#include <algorithm>

#include "podman/types.h"

namespace wscp::podman {
namespace {

constexpr std::size_t kBlock = 512;

std::uint64_t parse_size(const char* field) {
  const auto* u = reinterpret_cast<const unsigned char*>(field);
  if (u[0] & 0x80) {  // base-256, for members over 8 GiB
    std::uint64_t v = 0;
    for (int i = 1; i < 12; ++i) v = (v << 8) | u[i];
    return v;
  }
  std::uint64_t v = 0;
  for (int i = 0; i < 12 && field[i] >= '0' && field[i] <= '7'; ++i) v = v * 8 + static_cast<unsigned>(field[i] - '0');
  return v;
}

std::string field_string(const char* p, std::size_t max) {
  return std::string(p, std::find(p, p + max, '\0'));
}

std::string normalise(std::string name) {
  while (name.starts_with("./")) name.erase(0, 2);
  return name;
}

// pax extended header records: "<len> path=<value>\n".
std::string pax_path(const std::string& records) {
  std::size_t pos = 0;
  while (pos < records.size()) {
    std::size_t space = records.find(' ', pos);
    if (space == std::string::npos) break;
    std::size_t len = std::strtoul(records.c_str() + pos, nullptr, 10);
    if (len == 0 || pos + len > records.size()) break;
    std::string record = records.substr(space + 1, pos + len - space - 2);
    if (record.starts_with("path=")) return record.substr(5);
    pos += len;
  }
  return {};
}

}  // namespace

Status ArchiveTap::write(std::span<const std::byte> data) {
  consume(data.data(), data.size());
  bytes_ += data.size();
  return next_.write(data);
}

void ArchiveTap::consume(const std::byte* p, std::size_t n) {
  while (n > 0 && state_ != State::kEnd) {
    if (state_ == State::kHeader) {
      std::size_t take = std::min(n, kBlock - header_.size());
      header_.append(reinterpret_cast<const char*>(p), take);
      p += take;
      n -= take;
      if (header_.size() == kBlock) on_header();
      continue;
    }
    std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, data_left_));
    std::size_t real = static_cast<std::size_t>(std::min<std::uint64_t>(take, member_left_));
    if (real > 0 && (capturing_ || meta_type_)) {
      std::string& out = meta_type_ ? meta_ : captured_[current_];
      std::size_t room = kMaxMember - std::min(kMaxMember, out.size());
      out.append(reinterpret_cast<const char*>(p), std::min(real, room));
    }
    member_left_ -= real;
    data_left_ -= take;
    p += take;
    n -= take;
    if (data_left_ == 0) {
      if (meta_type_ == 'L') long_name_ = field_string(meta_.data(), meta_.size());
      if (meta_type_ == 'x') long_name_ = pax_path(meta_);
      meta_type_ = 0;
      meta_.clear();
      capturing_ = false;
      state_ = State::kHeader;
    }
  }
}

void ArchiveTap::on_header() {
  const char* h = header_.data();
  bool all_zero = std::all_of(header_.begin(), header_.end(), [](char c) { return c == 0; });
  if (all_zero) {
    state_ = State::kEnd;
    header_.clear();
    return;
  }
  std::string name = field_string(h, 100);
  std::string prefix = field_string(h + 345, 155);
  if (!prefix.empty() && header_.compare(257, 5, "ustar") == 0) name = prefix + "/" + name;
  if (!long_name_.empty()) name = std::exchange(long_name_, {});
  const char type = h[156];
  member_left_ = parse_size(h + 124);
  data_left_ = (member_left_ + kBlock - 1) / kBlock * kBlock;
  current_ = normalise(name);
  meta_type_ = (type == 'L' || type == 'x') ? type : 0;
  capturing_ = !meta_type_ && wanted_.count(current_) > 0;
  if (capturing_) captured_[current_].clear();
  header_.clear();
  state_ = data_left_ > 0 ? State::kData : State::kHeader;
}

std::optional<std::string> ArchiveTap::member(const std::string& name) const {
  auto it = captured_.find(name);
  if (it == captured_.end()) return std::nullopt;
  return it->second;
}

namespace {

// Minimal protobuf reading: varints and length-delimited fields only.
bool read_varint(const std::string& s, std::size_t& pos, std::uint64_t& out) {
  out = 0;
  for (int shift = 0; shift < 64 && pos < s.size(); shift += 7) {
    auto byte = static_cast<unsigned char>(s[pos++]);
    out |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

}  // namespace

std::optional<CheckpointStats> parse_stats_dump(const std::string& image) {
  // 4-byte image-set magic, 4-byte stats magic, 4-byte little-endian length.
  if (image.size() < 12) return std::nullopt;
  const auto* u = reinterpret_cast<const unsigned char*>(image.data());
  std::uint32_t len = u[8] | (u[9] << 8) | (u[10] << 16) | (static_cast<std::uint32_t>(u[11]) << 24);
  if (12 + static_cast<std::uint64_t>(len) > image.size()) return std::nullopt;
  std::string entry = image.substr(12, len);

  std::size_t pos = 0;
  std::uint64_t key = 0, size = 0;
  if (!read_varint(entry, pos, key) || key != ((1 << 3) | 2)) return std::nullopt;  // field 1, bytes
  if (!read_varint(entry, pos, size) || pos + size > entry.size()) return std::nullopt;
  std::string dump = entry.substr(pos, size);

  CheckpointStats stats;
  pos = 0;
  while (pos < dump.size()) {
    std::uint64_t field_key = 0, value = 0;
    if (!read_varint(dump, pos, field_key) || (field_key & 7) != 0) return std::nullopt;
    if (!read_varint(dump, pos, value)) return std::nullopt;
    switch (field_key >> 3) {
      case 1: stats.freezing_time_us = value; break;
      case 2: stats.frozen_time_us = value; break;
      case 3: stats.memdump_time_us = value; break;
      case 4: stats.memwrite_time_us = value; break;
      case 5: stats.pages_scanned = value; break;
      case 7: stats.pages_written = value; break;
      default: break;
    }
  }
  return stats;
}

}  // namespace wscp::podman
