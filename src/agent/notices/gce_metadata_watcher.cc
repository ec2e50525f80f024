#include "agent/notices/gce_metadata_watcher.h"

#include "agent/notices/metadata_errors.h"
#include "http/client.h"

namespace wscp::agent::notices {
namespace {

constexpr std::string_view kPreemptedPath = "/computeMetadata/v1/instance/preempted";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
  return s;
}

}  // namespace

GceMetadataWatcher::GceMetadataWatcher(GceMetadataConfig config, std::shared_ptr<http::Client> http,
                                       std::shared_ptr<Clock> clock)
    : config_(std::move(config)), http_(std::move(http)), clock_(std::move(clock)) {
  while (!config_.base_url.empty() && config_.base_url.back() == '/') config_.base_url.pop_back();
}

std::chrono::milliseconds GceMetadataWatcher::poll_interval() const {
  return etag_.empty() ? config_.retry_interval : std::chrono::milliseconds(0);
}

PollResult GceMetadataWatcher::poll(const CancelToken& cancel) {
  PollResult result;
  http::Request r;
  r.url = config_.base_url + std::string(kPreemptedPath);
  const bool waiting = !etag_.empty();
  if (waiting) {
    r.url += "?wait_for_change=true&last_etag=" + http::url_encode(etag_) +
             "&timeout_sec=" + std::to_string(config_.wait_timeout.count());
    r.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config_.wait_timeout) +
                std::chrono::milliseconds(5000);
  } else {
    r.timeout = std::chrono::milliseconds(5000);
  }
  r.connect_timeout = std::chrono::milliseconds(2000);
  r.headers.push_back({"Metadata-Flavor", "Google"});
  r.cancel = &cancel;
  const std::string what = "GCE metadata GET " + std::string(kPreemptedPath);
  auto resp = http_->send(r);
  if (!resp) {
    etag_.clear();  // start over with a plain read
    result.errors.push_back(resp.error().wrap("GCE metadata"));
    return result;
  }
  if (resp->status != 200) {
    etag_.clear();
    result.errors.push_back(unexpected_status(what, resp->status, resp->body));
    return result;
  }
  const std::string_view value = trim(resp->body);
  if (value != "TRUE" && value != "FALSE") {
    etag_.clear();
    result.errors.push_back(malformed(what, "neither TRUE nor FALSE", resp->body));
    return result;
  }
  auto etag = resp->header("ETag");
  etag_ = etag ? std::string(*etag) : std::string();
  if (value == "TRUE") {
    TerminationNotice n;
    n.provider = Provider::kGce;
    n.kind = NoticeKind::kTermination;
    n.id = "preempted";
    n.action = "preempted";
    n.detected_at = clock_->wall_now();
    n.deadline = n.detected_at + config_.notice_window;
    n.detail = resp->body;
    result.notices.push_back(std::move(n));
  }
  return result;
}

}  // namespace wscp::agent::notices
