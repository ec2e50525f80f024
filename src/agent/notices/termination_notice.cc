#include "agent/notices/termination_notice.h"

#include "common/time_format.h"

namespace wscp::agent::notices {

std::string_view to_string(Provider provider) {
  switch (provider) {
    case Provider::kAws: return "aws";
    case Provider::kGce: return "gce";
    case Provider::kAzure: return "azure";
  }
  return "unknown";
}

std::string_view to_string(NoticeKind kind) {
  return kind == NoticeKind::kTermination ? "termination" : "rebalance";
}

nlohmann::json TerminationNotice::to_json() const {
  nlohmann::json j = {{"provider", to_string(provider)},
                      {"kind", to_string(kind)},
                      {"id", id},
                      {"action", action},
                      {"detectedAt", utc_rfc3339(detected_at)},
                      {"detail", detail}};
  if (deadline) j["deadline"] = utc_rfc3339(*deadline);
  return j;
}

}  // namespace wscp::agent::notices
