#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace wscp::agent::notices {

enum class Provider { kAws, kGce, kAzure };
enum class NoticeKind {
  kTermination,  // the node goes away at `deadline`
  kRebalance,    // the node is at elevated risk: mark it, start nothing
};

std::string_view to_string(Provider provider);    // "aws", "gce", "azure"
std::string_view to_string(NoticeKind kind);      // "termination", "rebalance"

// What a cloud's metadata service said about this node's end.
struct TerminationNotice {
  Provider provider = Provider::kAws;
  NoticeKind kind = NoticeKind::kTermination;
  // The provider's identity of this notice (an event id, or the action and
  // its time): the same notice seen on two polls has the same id.
  std::string id;
  // The provider's word for what happens: terminate|stop|hibernate (AWS),
  // Preempt (Azure), preempted (GCE), rebalance (AWS recommendation).
  std::string action;
  // When the node goes (termination only).
  std::optional<std::chrono::system_clock::time_point> deadline;
  std::chrono::system_clock::time_point detected_at;
  std::string detail;  // the metadata service's answer, as received

  nlohmann::json to_json() const;
  bool operator==(const TerminationNotice&) const = default;
};

}  // namespace wscp::agent::notices
