#include "agent/notices/aws_imds_watcher.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "agent/notices/metadata_errors.h"
#include "agent/notices/metadata_time.h"

namespace wscp::agent::notices {
namespace {

constexpr std::string_view kTokenPath = "/latest/api/token";
constexpr std::string_view kInstanceActionPath = "/latest/meta-data/spot/instance-action";
constexpr std::string_view kRebalancePath = "/latest/meta-data/events/recommendations/rebalance";

std::string trim_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

AwsImdsWatcher::AwsImdsWatcher(AwsImdsConfig config, std::shared_ptr<http::Client> http,
                               std::shared_ptr<Clock> clock)
    : config_(std::move(config)), http_(std::move(http)), clock_(std::move(clock)) {
  config_.base_url = trim_slash(config_.base_url);
}

Result<std::string> AwsImdsWatcher::token(const CancelToken& cancel) {
  if (!token_.empty() && clock_->now() < token_renew_at_) return token_;
  token_.clear();
  http::Request r;
  r.method = "PUT";
  r.url = config_.base_url + std::string(kTokenPath);
  r.headers.push_back({"X-aws-ec2-metadata-token-ttl-seconds", std::to_string(config_.token_ttl.count())});
  r.timeout = config_.request_timeout;
  r.connect_timeout = std::min(config_.request_timeout, std::chrono::milliseconds(2000));
  r.cancel = &cancel;
  const auto asked_at = clock_->now();
  auto resp = http_->send(r);
  if (!resp) return resp.error().wrap("AWS IMDS token");
  if (resp->status != 200) return unexpected_status("AWS IMDS token (PUT " + r.url + ")", resp->status, resp->body);
  const std::string& body = resp->body;
  const bool printable = !body.empty() && body.size() <= 4096 &&
                         std::all_of(body.begin(), body.end(), [](char c) { return c > ' ' && c < 0x7f; });
  if (!printable) return malformed("AWS IMDS token (PUT " + r.url + ")", "not a token", body);
  // Renew well before expiry: at three quarters of the lifetime, and at
  // least a minute early when the lifetime allows.
  const auto ttl = std::chrono::duration_cast<std::chrono::milliseconds>(config_.token_ttl);
  const auto margin = std::min<std::chrono::milliseconds>(std::max(ttl / 4, std::chrono::milliseconds(60'000)), ttl / 2);
  token_ = body;
  token_renew_at_ = asked_at + (ttl - margin);
  return token_;
}

Result<AwsImdsWatcher::Answer> AwsImdsWatcher::get(const std::string& path, const CancelToken& cancel) {
  // A 401 means the token expired or IMDS restarted: one new token, one retry.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto t = token(cancel);
    if (!t) return t.error();
    http::Request r;
    r.url = config_.base_url + path;
    r.headers.push_back({"X-aws-ec2-metadata-token", *t});
    r.timeout = config_.request_timeout;
    r.connect_timeout = std::min(config_.request_timeout, std::chrono::milliseconds(2000));
    r.cancel = &cancel;
    auto resp = http_->send(r);
    if (!resp) return resp.error().wrap("AWS IMDS GET " + path);
    if (resp->status == 401 && attempt == 0) {
      token_.clear();
      continue;
    }
    return Answer{resp->status, std::move(resp->body)};
  }
  return Error(ErrorCode::kInternal, "unreachable");
}

Result<std::optional<TerminationNotice>> AwsImdsWatcher::instance_action(const CancelToken& cancel) {
  const std::string what = "AWS IMDS " + std::string(kInstanceActionPath);
  auto a = get(std::string(kInstanceActionPath), cancel);
  if (!a) return a.error();
  if (a->status == 404) return std::optional<TerminationNotice>();
  if (a->status != 200) return unexpected_status(what, a->status, a->body);
  auto j = nlohmann::json::parse(a->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return malformed(what, "not a JSON object", a->body);
  if (!j.contains("action") || !j["action"].is_string()) return malformed(what, "no \"action\" string", a->body);
  if (!j.contains("time") || !j["time"].is_string()) return malformed(what, "no \"time\" string", a->body);
  const std::string action = j["action"].get<std::string>();
  if (action != "terminate" && action != "stop" && action != "hibernate") {
    return malformed(what, "action is not terminate, stop or hibernate", a->body);
  }
  const std::string time = j["time"].get<std::string>();
  auto deadline = parse_rfc3339_utc(time);
  if (!deadline) return malformed(what, "time is not an RFC 3339 UTC time", a->body);
  TerminationNotice n;
  n.provider = Provider::kAws;
  n.kind = NoticeKind::kTermination;
  n.id = "instance-action/" + action + "/" + time;
  n.action = action;
  n.deadline = *deadline;
  n.detected_at = clock_->wall_now();
  n.detail = a->body;
  return std::optional<TerminationNotice>(std::move(n));
}

Result<std::optional<TerminationNotice>> AwsImdsWatcher::rebalance(const CancelToken& cancel) {
  const std::string what = "AWS IMDS " + std::string(kRebalancePath);
  auto a = get(std::string(kRebalancePath), cancel);
  if (!a) return a.error();
  if (a->status == 404) return std::optional<TerminationNotice>();
  if (a->status != 200) return unexpected_status(what, a->status, a->body);
  auto j = nlohmann::json::parse(a->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return malformed(what, "not a JSON object", a->body);
  if (!j.contains("noticeTime") || !j["noticeTime"].is_string()) {
    return malformed(what, "no \"noticeTime\" string", a->body);
  }
  const std::string time = j["noticeTime"].get<std::string>();
  if (!parse_rfc3339_utc(time)) return malformed(what, "noticeTime is not an RFC 3339 UTC time", a->body);
  TerminationNotice n;
  n.provider = Provider::kAws;
  n.kind = NoticeKind::kRebalance;
  n.id = "rebalance/" + time;
  n.action = "rebalance";
  n.detected_at = clock_->wall_now();
  n.detail = a->body;
  return std::optional<TerminationNotice>(std::move(n));
}

PollResult AwsImdsWatcher::poll(const CancelToken& cancel) {
  PollResult result;
  // Without a token neither endpoint answers: one error, not two.
  if (auto t = token(cancel); !t) {
    result.errors.push_back(t.error());
    return result;
  }
  auto collect = [&](Result<std::optional<TerminationNotice>> r) {
    if (!r) result.errors.push_back(r.error());
    else if (*r) result.notices.push_back(std::move(**r));
  };
  collect(instance_action(cancel));
  if (!cancel.cancelled()) collect(rebalance(cancel));
  return result;
}

}  // namespace wscp::agent::notices
