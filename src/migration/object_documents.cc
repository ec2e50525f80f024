#include "migration/object_documents.h"

namespace wscp::migration {
namespace {

// Coordination documents are small; a plan with many labelled containers is
// the largest (plan_phase.cc refuses plans over 1 MiB).
constexpr std::size_t kMaxDocument = 1 << 20;

}  // namespace

Status ObjectDocuments::create_exclusive(const std::string& key, const std::string& text) {
  return objects_.create_exclusive(key, text, OperationContext{});
}

Result<std::optional<std::string>> ObjectDocuments::read(const std::string& key) {
  auto text = store::get_object(objects_, key, kMaxDocument, OperationContext{});
  if (text) return std::optional<std::string>(std::move(*text));
  if (text.error().code() == ErrorCode::kNotFound) return std::optional<std::string>{};
  return text.error();
}

Result<std::vector<std::string>> ObjectDocuments::list(const std::string& prefix) {
  auto objects = objects_.list(prefix);
  if (!objects) return objects.error();
  std::vector<std::string> keys;
  keys.reserve(objects->size());
  for (const auto& o : *objects) keys.push_back(o.key);
  return keys;
}

Status ObjectDocuments::remove(const std::string& key) { return objects_.remove(key); }

Result<std::chrono::system_clock::time_point> ObjectDocuments::now() { return objects_.now(); }

}  // namespace wscp::migration
