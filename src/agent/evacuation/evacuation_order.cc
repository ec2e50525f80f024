#include "agent/evacuation/evacuation_order.h"

#include <algorithm>
#include <charconv>

#include "store/crypto.h"

namespace wscp::agent::evacuation {
namespace {

std::int64_t priority_of(const inventory::Workspace& w, std::string_view label) {
  auto it = w.labels.find(std::string(label));
  if (it == w.labels.end()) return 0;
  std::int64_t value = 0;
  const char* end = it->second.data() + it->second.size();
  auto [ptr, ec] = std::from_chars(it->second.data(), end, value);
  if (ec != std::errc() || ptr != end) return 0;
  return value;
}

}  // namespace

std::vector<Candidate> evacuation_order(const std::vector<inventory::Workspace>& workspaces,
                                        std::string_view priority_label) {
  std::vector<Candidate> out;
  for (const auto& w : workspaces) {
    if (!w.running) continue;
    out.push_back({w.id, w.primary, w.project, w.memory_bytes, priority_of(w, priority_label)});
  }
  std::sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    if (a.memory_bytes.has_value() != b.memory_bytes.has_value()) return a.memory_bytes.has_value();
    if (a.memory_bytes != b.memory_bytes) return *a.memory_bytes < *b.memory_bytes;
    return a.workspace_id < b.workspace_id;
  });
  return out;
}

std::string notice_checkpoint_id(const notices::TerminationNotice& notice) {
  const std::string provider(notices::to_string(notice.provider));
  return "notice-" + provider + "-" + store::sha256_hex(provider + "\n" + notice.id).substr(0, 12);
}

std::string notice_operation_id(std::string_view checkpoint_id, std::string_view workspace_id,
                                std::string_view role) {
  return std::string(checkpoint_id) + "-" + store::sha256_hex(workspace_id).substr(0, 12) + "-" + std::string(role);
}

}  // namespace wscp::agent::evacuation
