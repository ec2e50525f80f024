#include "migration/document_log.h"

#include <charconv>
#include <cstdio>

#include "migration/signed_document.h"

namespace wscp::migration {
namespace {

using nlohmann::json;
constexpr std::size_t kDigits = 12;
constexpr std::string_view kSuffix = ".json";

std::optional<std::uint64_t> generation_of(std::string_view key, std::string_view prefix) {
  if (!key.starts_with(prefix) || !key.ends_with(kSuffix)) return std::nullopt;
  std::string_view digits = key.substr(prefix.size(), key.size() - prefix.size() - kSuffix.size());
  if (digits.size() != kDigits) return std::nullopt;
  std::uint64_t g = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), g);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return g;
}

}  // namespace

std::string DocumentLog::key_of(std::uint64_t generation) const {
  char digits[kDigits + 1];
  std::snprintf(digits, sizeof digits, "%012llu", static_cast<unsigned long long>(generation));
  return prefix_ + digits + std::string(kSuffix);
}

Result<std::optional<LogEntry>> DocumentLog::latest() {
  auto keys = store_.list(prefix_);
  if (!keys) return keys.error();
  std::optional<std::uint64_t> newest;
  for (const auto& k : *keys) {
    auto g = generation_of(k, prefix_);
    if (g && (!newest || *g > *newest)) newest = g;
  }
  if (!newest) return std::optional<LogEntry>{};
  const std::string key = key_of(*newest);
  auto text = store_.read(key);
  if (!text) return text.error();
  if (!text->has_value()) return Error(ErrorCode::kUnavailable, key + " vanished while being read: retry");
  const std::string what = key;
  auto doc = open_document(**text, kind_, keys_, what);
  if (!doc) return doc.error();
  auto generation = doc->find("generation");
  auto owner = doc->find("owner");
  if (generation == doc->end() || !generation->is_number_unsigned() || generation->get<std::uint64_t>() != *newest ||
      owner == doc->end() || !owner->is_string() || owner->get<std::string>() != owner_) {
    return Error(ErrorCode::kIntegrity, what + " does not belong here (it names another generation or owner): it "
                                               "was copied from elsewhere; refusing it");
  }
  doc->erase("generation");
  doc->erase("owner");
  return std::optional<LogEntry>(LogEntry{*newest, std::move(*doc)});
}

Result<LogEntry> DocumentLog::append(std::uint64_t after, json body) {
  const std::uint64_t next = after + 1;
  json doc = body;
  doc["generation"] = next;
  doc["owner"] = owner_;
  if (Status st = store_.create_exclusive(key_of(next), sign_document(doc, kind_, keys_.current())); !st) return st.error();
  if (after > 0) (void)store_.remove(key_of(after - 1));  // best effort: history only
  return LogEntry{next, std::move(body)};
}

}  // namespace wscp::migration
