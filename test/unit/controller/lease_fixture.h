#pragma once

// Agent Leases as the API server returns them, for the directory's tests.
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "common/clock.h"
#include "kube/base64.h"
#include "kube/micro_time.h"

namespace wscp::controller::testing {

// A wall clock the test sets; steady time follows it.
class SettableClock final : public Clock {
 public:
  std::chrono::system_clock::time_point wall{std::chrono::sys_days{std::chrono::year{2026} / 1 / 5} +
                                             std::chrono::hours{10}};
  time_point now() const override {
    return time_point(std::chrono::duration_cast<time_point::duration>(wall.time_since_epoch()));
  }
  std::chrono::system_clock::time_point wall_now() const override { return wall; }
  void sleep_for(std::chrono::milliseconds d) override { wall += d; }
};

inline std::string pin_of(char byte) { return "sha256//" + kube::base64_encode(std::string(32, byte)); }

inline std::string fingerprint_of(const std::string& pair) {
  std::string f;
  for (int i = 0; i < 32; ++i) f += (i ? ":" : "") + pair;
  return f;
}

// A valid Lease of node `node`, renewed at `renewed` for 20 s.
inline nlohmann::json agent_lease(const std::string& node, std::chrono::system_clock::time_point renewed) {
  using nlohmann::json;
  return json{
      {"apiVersion", "coordination.k8s.io/v1"},
      {"kind", "Lease"},
      {"metadata",
       {{"name", "wscp-agent-" + node},
        {"namespace", "wscp-system"},
        {"labels", {{"app.kubernetes.io/name", "wscp-agent"}, {"wscp.dev/node", node}}},
        {"annotations",
         {{"wscp.dev/endpoint", "https://10.0.3.17:9443"},
          {"wscp.dev/certificate-sha256", fingerprint_of("AB")},
          {"wscp.dev/public-key-pin", pin_of('k')},
          {"wscp.dev/capabilities", R"(["checkpoint","restore","release","resume","preflight","notices:aws"])"},
          {"wscp.dev/capacity",
           R"({"memoryAvailableBytes":8589934592,"diskFreeBytes":{"/var/lib/containers/storage":1000,"/var/tmp":2000},"workspacesRunning":3})"},
          {"wscp.dev/termination-notice", ""},
          {"wscp.dev/evacuation", ""}}}}},
      {"spec",
       {{"holderIdentity", node + "/abababababababab"},
        {"leaseDurationSeconds", 20},
        {"acquireTime", kube::format_micro_time(renewed)},
        {"renewTime", kube::format_micro_time(renewed)}}}};
}

inline void annotate(nlohmann::json& lease, const std::string& key, nlohmann::json value) {
  lease["metadata"]["annotations"][key] = std::move(value);
}

}  // namespace wscp::controller::testing
