#include "agent/notices/azure_events_watcher.h"

#include <nlohmann/json.hpp>

#include "agent/notices/metadata_errors.h"
#include "agent/notices/metadata_time.h"

namespace wscp::agent::notices {
namespace {

constexpr std::string_view kEventsPath = "/metadata/scheduledevents?api-version=2020-07-01";
constexpr std::string_view kNamePath = "/metadata/instance/compute/name?api-version=2021-02-01&format=text";

}  // namespace

AzureEventsWatcher::AzureEventsWatcher(AzureEventsConfig config, std::shared_ptr<http::Client> http,
                                       std::shared_ptr<Clock> clock)
    : config_(std::move(config)), http_(std::move(http)), clock_(std::move(clock)) {
  while (!config_.base_url.empty() && config_.base_url.back() == '/') config_.base_url.pop_back();
  vm_name_ = config_.vm_name;
}

std::chrono::milliseconds AzureEventsWatcher::timeout() const {
  return answered_once_ ? config_.request_timeout : config_.first_request_timeout;
}

Result<std::string> AzureEventsWatcher::vm_name(const CancelToken& cancel) {
  if (!vm_name_.empty()) return vm_name_;
  http::Request r;
  r.url = config_.base_url + std::string(kNamePath);
  r.headers.push_back({"Metadata", "true"});
  r.timeout = config_.request_timeout;
  r.connect_timeout = std::chrono::milliseconds(2000);
  r.cancel = &cancel;
  const std::string what = "Azure IMDS GET " + std::string(kNamePath);
  auto resp = http_->send(r);
  if (!resp) return resp.error().wrap("Azure IMDS (this VM's name)");
  if (resp->status != 200) return unexpected_status(what, resp->status, resp->body);
  std::string name = resp->body;
  while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
  if (name.empty() || name.size() > 255 || name.find_first_of(" \t\r\n\"") != std::string::npos) {
    return malformed(what, "not a VM name", resp->body);
  }
  vm_name_ = name;
  return vm_name_;
}

PollResult AzureEventsWatcher::poll(const CancelToken& cancel) {
  PollResult result;
  auto name = vm_name(cancel);
  if (!name) {
    result.errors.push_back(name.error());
    return result;
  }
  http::Request r;
  r.url = config_.base_url + std::string(kEventsPath);
  r.headers.push_back({"Metadata", "true"});
  r.timeout = timeout();
  r.connect_timeout = std::chrono::milliseconds(2000);
  r.cancel = &cancel;
  const std::string what = "Azure Scheduled Events GET " + std::string(kEventsPath);
  auto resp = http_->send(r);
  if (!resp) {
    result.errors.push_back(resp.error().wrap("Azure Scheduled Events"));
    return result;
  }
  if (resp->status != 200) {
    result.errors.push_back(unexpected_status(what, resp->status, resp->body));
    return result;
  }
  answered_once_ = true;
  const std::string& body = resp->body;
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    result.errors.push_back(malformed(what, "not a JSON object", body));
    return result;
  }
  if (!doc.contains("DocumentIncarnation") || !doc["DocumentIncarnation"].is_number_integer()) {
    result.errors.push_back(malformed(what, "no integer DocumentIncarnation", body));
    return result;
  }
  if (!doc.contains("Events") || !doc["Events"].is_array()) {
    result.errors.push_back(malformed(what, "no Events array", body));
    return result;
  }
  const auto now = clock_->wall_now();
  for (const auto& e : doc["Events"]) {
    auto str = [&](const char* key) -> const nlohmann::json* {
      return e.is_object() && e.contains(key) && e[key].is_string() ? &e[key] : nullptr;
    };
    if (!str("EventId") || !str("EventType")) {
      result.errors.push_back(malformed(what, "an event without EventId or EventType strings", e.dump()));
      continue;
    }
    if (e["EventType"].get<std::string>() != "Preempt") continue;
    // Whose event is it?
    if (!e.contains("Resources") || !e["Resources"].is_array()) {
      result.errors.push_back(malformed(what, "a Preempt event without a Resources array", e.dump()));
      continue;
    }
    bool ours = false;
    for (const auto& res : e["Resources"]) ours = ours || (res.is_string() && res.get<std::string>() == *name);
    if (!ours) continue;
    if (!str("NotBefore")) {
      result.errors.push_back(malformed(what, "a Preempt event without a NotBefore string", e.dump()));
      continue;
    }
    const std::string not_before = e["NotBefore"].get<std::string>();
    std::chrono::system_clock::time_point deadline = now;  // "" once the event has started
    if (!not_before.empty()) {
      auto t = parse_rfc1123(not_before);
      if (!t) {
        result.errors.push_back(malformed(what, "NotBefore is not an RFC 1123 date", e.dump()));
        continue;
      }
      deadline = *t;
    }
    TerminationNotice n;
    n.provider = Provider::kAzure;
    n.kind = NoticeKind::kTermination;
    n.id = e["EventId"].get<std::string>();
    n.action = "Preempt";
    n.deadline = deadline;
    n.detected_at = now;
    n.detail = e.dump();
    result.notices.push_back(std::move(n));
  }
  return result;
}

Status AzureEventsWatcher::acknowledge(const TerminationNotice& notice) {
  if (notice.provider != Provider::kAzure) {
    return Error(ErrorCode::kInvalidArgument, "not an Azure notice: " + std::string(to_string(notice.provider)));
  }
  http::Request r;
  r.method = "POST";
  r.url = config_.base_url + std::string(kEventsPath);
  r.headers.push_back({"Metadata", "true"});
  r.headers.push_back({"Content-Type", "application/json"});
  r.body = nlohmann::json{{"StartRequests", nlohmann::json::array({{{"EventId", notice.id}}})}}.dump();
  r.timeout = config_.request_timeout;
  r.connect_timeout = std::chrono::milliseconds(2000);
  const std::string what = "Azure Scheduled Events StartRequests for " + notice.id;
  auto resp = http_->send(r);
  if (!resp) return resp.error().wrap(what);
  if (resp->status != 200) return unexpected_status(what, resp->status, resp->body);
  return Ok{};
}

}  // namespace wscp::agent::notices
