// The termination-notice watchers over real HTTP against the metadata
// emulator (metadata_emulator.py), which answers as the documented
// endpoints do, header and token requirements included.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>

#include "agent/notices/aws_imds_watcher.h"
#include "agent/notices/azure_events_watcher.h"
#include "agent/notices/gce_metadata_watcher.h"
#include "agent/notices/notice_monitor.h"
#include "agent_env.h"
#include "common/time_format.h"
#include "metrics/agent_metrics.h"

using namespace wscp;
using namespace wscp::agent::notices;
using namespace wscp::agent::testing;
using namespace std::chrono_literals;
using Wall = std::chrono::system_clock;

namespace {

// Runs a monitor over one watcher and collects what it reports.
class Watching {
 public:
  explicit Watching(std::unique_ptr<NoticeWatcher> watcher)
      : metrics_(std::make_shared<metrics::AgentMetrics>("test")) {
    std::vector<std::unique_ptr<NoticeWatcher>> ws;
    ws.push_back(std::move(watcher));
    monitor_ = std::make_unique<NoticeMonitor>(std::move(ws), system_clock(), nullptr, metrics_,
                                               [this](const TerminationNotice& n) {
                                                 std::lock_guard lock(mu_);
                                                 seen_.push_back(n);
                                                 seen_at_.push_back(std::chrono::steady_clock::now());
                                               });
    monitor_->start();
  }
  ~Watching() { monitor_->stop(); }

  std::vector<TerminationNotice> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::chrono::steady_clock::time_point seen_at(std::size_t i) const {
    std::lock_guard lock(mu_);
    return seen_at_.at(i);
  }
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout) const {
    return eventually(timeout, [&] { return seen().size() >= count; }, 5ms);
  }
  std::string exposition() const { return metrics_->exposition(); }
  NoticeMonitor& monitor() { return *monitor_; }

 private:
  std::shared_ptr<metrics::AgentMetrics> metrics_;
  std::unique_ptr<NoticeMonitor> monitor_;
  mutable std::mutex mu_;
  std::vector<TerminationNotice> seen_;
  std::vector<std::chrono::steady_clock::time_point> seen_at_;
};

std::unique_ptr<AwsImdsWatcher> aws(const Emulator& e, std::chrono::milliseconds interval = 200ms) {
  AwsImdsConfig c;
  c.base_url = e.url();
  c.poll_interval = interval;
  return std::make_unique<AwsImdsWatcher>(c, loopback_client(), system_clock());
}

std::unique_ptr<GceMetadataWatcher> gce(const Emulator& e) {
  GceMetadataConfig c;
  c.base_url = e.url();
  c.wait_timeout = 30s;
  return std::make_unique<GceMetadataWatcher>(c, loopback_client(), system_clock());
}

std::unique_ptr<AzureEventsWatcher> azure(const Emulator& e, std::chrono::milliseconds interval = 200ms) {
  AzureEventsConfig c;
  c.base_url = e.url();
  c.poll_interval = interval;
  return std::make_unique<AzureEventsWatcher>(c, loopback_client(), system_clock());
}

// Whole seconds, as the providers write times.
Wall::time_point in(std::chrono::seconds s) {
  return Wall::from_time_t(Wall::to_time_t(Wall::now())) + s;
}

std::string rfc1123(Wall::time_point t) {
  std::time_t tt = Wall::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The value of one series in an exposition (-1 when absent).
double series_value(const std::string& exposition, const std::string& series) {
  auto at = exposition.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(exposition.substr(at + series.size() + 2));
}

// How many requests the emulator has seen whose path contains `part`.
std::size_t requests_to(const Emulator& e, const std::string& part) {
  std::size_t n = 0;
  for (const auto& r : e.get("/_emulator/requests")) n += has(r["path"].get<std::string>(), part) ? 1 : 0;
  return n;
}

}  // namespace

// ---- AWS ------------------------------------------------------------------

TEST_CASE("notices: aws IMDSv2 refuses metadata requests without a valid token") {
  Emulator e;
  CHECK(e.request("GET", "/latest/meta-data/spot/instance-action").status == 401);
  CHECK(e.request("GET", "/latest/meta-data/spot/instance-action", {{"X-aws-ec2-metadata-token", "forged"}}).status == 401);
  CHECK(e.request("PUT", "/latest/api/token").status == 400);  // no TTL
  auto token = e.request("PUT", "/latest/api/token", {{"X-aws-ec2-metadata-token-ttl-seconds", "60"}});
  REQUIRE(token.status == 200);
  CHECK(e.request("GET", "/latest/meta-data/spot/instance-action", {{"X-aws-ec2-metadata-token", token.body}}).status == 404);
}

TEST_CASE("notices: aws with no notice reports nothing") {
  Emulator e;
  auto w = aws(e);
  CancelToken cancel;
  for (int i = 0; i < 3; ++i) {
    auto r = w->poll(cancel);
    CHECK(r.notices.empty());
    CHECK(r.errors.empty());
  }
  // One token served all polls, and every metadata request carried it.
  auto requests = e.get("/_emulator/requests");
  int puts = 0;
  for (const auto& r : requests) {
    if (r["method"] == "PUT") ++puts;
    else CHECK(r["headers"].contains("X-aws-ec2-metadata-token"));
  }
  CHECK(puts == 1);
}

TEST_CASE("notices: aws spot interruption is reported with its deadline within the poll interval") {
  Emulator e;
  Watching watching(aws(e, 500ms));
  const auto deadline = in(120s);
  const auto posted = std::chrono::steady_clock::now();
  e.post("/_emulator/aws/instance-action", nlohmann::json{{"action", "terminate"}, {"time", utc_rfc3339(deadline)}});
  REQUIRE(watching.wait_for(1, 5s));
  auto n = watching.seen()[0];
  CHECK(n.provider == Provider::kAws);
  CHECK(n.kind == NoticeKind::kTermination);
  CHECK(n.action == "terminate");
  REQUIRE(n.deadline);
  CHECK(*n.deadline == deadline);
  // Seen within one poll interval (500 ms), with slack for a busy machine.
  CHECK(watching.seen_at(0) - posted < 500ms + 1000ms);
  // Reported once, however many polls see it.
  const auto polls = requests_to(e, "instance-action");
  REQUIRE(eventually(5s, [&] { return requests_to(e, "instance-action") >= polls + 3; }));
  CHECK(watching.seen().size() == 1);
  CHECK(has(watching.exposition(), R"(wscp_agent_notices_total{kind="termination",provider="aws"} 1)"));
}

TEST_CASE("notices: aws rebalance recommendation is reported as such") {
  Emulator e;
  Watching watching(aws(e));
  e.post("/_emulator/aws/rebalance", nlohmann::json{{"noticeTime", utc_rfc3339(in(0s))}});
  REQUIRE(watching.wait_for(1, 5s));
  CHECK(watching.seen()[0].kind == NoticeKind::kRebalance);
  CHECK_FALSE(watching.seen()[0].deadline);
}

TEST_CASE("notices: aws tokens revoked by IMDS are renewed without missing a notice") {
  Emulator e;
  auto w = aws(e);
  CancelToken cancel;
  REQUIRE(w->poll(cancel).errors.empty());
  e.post("/_emulator/aws/expire-tokens");
  e.post("/_emulator/aws/instance-action", nlohmann::json{{"action", "stop"}, {"time", utc_rfc3339(in(60s))}});
  auto r = w->poll(cancel);
  CHECK(r.errors.empty());
  REQUIRE(r.notices.size() == 1);
  CHECK(r.notices[0].action == "stop");
}

TEST_CASE("notices: aws malformed answers are counted errors, never notices") {
  Emulator e;
  e.post("/_emulator/raw", nlohmann::json{{"method", "GET"},
                                          {"path", "/latest/meta-data/spot/instance-action"},
                                          {"status", 200},
                                          {"body", R"({"action": "terminate", "time": "in two minutes"})"}});
  Watching watching(aws(e, 100ms));
  const std::string series = R"(wscp_agent_notice_poll_errors_total{provider="aws",reason="malformed"})";
  REQUIRE(eventually(5s, [&] { return series_value(watching.exposition(), series) >= 2; }));
  CHECK(watching.seen().empty());
  CancelToken cancel;
  auto r = aws(e)->poll(cancel);
  REQUIRE(r.errors.size() == 1);
  CHECK(has(r.errors[0].message(), "malformed"));
  CHECK(has(r.errors[0].message(), "time is not an RFC 3339"));
}

// ---- GCE ------------------------------------------------------------------

TEST_CASE("notices: gce metadata refuses requests without Metadata-Flavor: Google") {
  Emulator e;
  auto r = e.request("GET", "/computeMetadata/v1/instance/preempted");
  CHECK(r.status == 403);
  CHECK(has(r.body, "Metadata-Flavor"));
  CHECK(e.request("GET", "/computeMetadata/v1/instance/preempted", {{"Metadata-Flavor", "Google"}}).status == 200);
}

TEST_CASE("notices: gce with no preemption reports nothing") {
  Emulator e;
  auto w = gce(e);
  CancelToken cancel;
  auto r = w->poll(cancel);
  CHECK(r.notices.empty());
  CHECK(r.errors.empty());
}

TEST_CASE("notices: gce preemption is seen at once through wait-for-change, deadline 30 s later") {
  Emulator e;
  Watching watching(gce(e));
  // Wait until the watcher is parked in a wait-for-change request.
  REQUIRE(eventually(5s, [&] {
    for (const auto& r : e.get("/_emulator/requests")) {
      if (has(r["path"].get<std::string>(), "wait_for_change=true")) return true;
    }
    return false;
  }));
  const auto posted = std::chrono::steady_clock::now();
  const auto wall_posted = Wall::now();
  e.post("/_emulator/gce/preempted", nlohmann::json{{"value", "TRUE"}});
  REQUIRE(watching.wait_for(1, 5s));
  CHECK(watching.seen_at(0) - posted < 1000ms);  // not the 30 s wait: it returns on the change
  auto n = watching.seen()[0];
  CHECK(n.provider == Provider::kGce);
  REQUIRE(n.deadline);
  CHECK(*n.deadline - n.detected_at == 30s);
  CHECK(n.detected_at - wall_posted < 1s);
  for (const auto& r : e.get("/_emulator/requests")) CHECK(r["headers"]["Metadata-Flavor"] == "Google");
}

TEST_CASE("notices: gce malformed answers are errors, never notices") {
  Emulator e;
  e.post("/_emulator/raw", nlohmann::json{{"method", "GET"},
                                          {"path", "/computeMetadata/v1/instance/preempted"},
                                          {"status", 200},
                                          {"body", "PERHAPS"}});
  CancelToken cancel;
  auto r = gce(e)->poll(cancel);
  CHECK(r.notices.empty());
  REQUIRE(r.errors.size() == 1);
  CHECK(has(r.errors[0].message(), "neither TRUE nor FALSE"));
}

// ---- Azure ----------------------------------------------------------------

TEST_CASE("notices: azure refuses requests without Metadata: true or an api-version") {
  Emulator e;
  auto r = e.request("GET", "/metadata/scheduledevents?api-version=2020-07-01");
  CHECK(r.status == 400);
  CHECK(has(r.body, "Required metadata header not specified"));
  CHECK(e.request("GET", "/metadata/scheduledevents", {{"Metadata", "true"}}).status == 400);
  CHECK(e.request("GET", "/metadata/scheduledevents?api-version=2020-07-01", {{"Metadata", "true"}}).status == 200);
}

TEST_CASE("notices: azure with no events reports nothing") {
  Emulator e;
  CancelToken cancel;
  auto r = azure(e)->poll(cancel);
  CHECK(r.notices.empty());
  CHECK(r.errors.empty());
}

TEST_CASE("notices: azure Preempt is reported with its NotBefore within the poll interval; other VMs' events are not") {
  Emulator e;
  Watching watching(azure(e, 500ms));
  e.post("/_emulator/azure/event", nlohmann::json{{"EventType", "Preempt"},
                                                  {"Resources", {"someone-else"}},
                                                  {"NotBefore", rfc1123(in(30s))}});
  e.post("/_emulator/azure/event", nlohmann::json{{"EventType", "Reboot"}, {"NotBefore", rfc1123(in(300s))}});
  const auto deadline = in(30s);
  const auto posted = std::chrono::steady_clock::now();
  auto ours = e.post("/_emulator/azure/event", nlohmann::json{{"EventType", "Preempt"}, {"NotBefore", rfc1123(deadline)}});
  REQUIRE(watching.wait_for(1, 5s));
  CHECK(watching.seen_at(0) - posted < 500ms + 1000ms);
  const auto polls = requests_to(e, "scheduledevents");
  REQUIRE(eventually(5s, [&] { return requests_to(e, "scheduledevents") >= polls + 3; }));
  REQUIRE(watching.seen().size() == 1);
  auto n = watching.seen()[0];
  CHECK(n.provider == Provider::kAzure);
  CHECK(n.id == ours["EventId"]);
  REQUIRE(n.deadline);
  CHECK(*n.deadline == deadline);

  // Acknowledging approves the event: Azure (here its emulator) starts it.
  REQUIRE(watching.monitor().acknowledge(n).ok());
  CHECK(e.get("/_emulator/azure/acks") == nlohmann::json::array({ours["EventId"]}));
  auto doc = nlohmann::json::parse(
      e.request("GET", "/metadata/scheduledevents?api-version=2020-07-01", {{"Metadata", "true"}}).body);
  bool started = false;
  for (const auto& ev : doc["Events"]) started = started || (ev["EventId"] == ours["EventId"] && ev["EventStatus"] == "Started");
  CHECK(started);
}

TEST_CASE("notices: azure malformed answers are errors, never notices") {
  Emulator e;
  e.post("/_emulator/raw", nlohmann::json{{"method", "GET"},
                                          {"path", "/metadata/scheduledevents"},
                                          {"status", 200},
                                          {"body", R"({"DocumentIncarnation": 2, "Events": "Preempt"})"}});
  CancelToken cancel;
  auto r = azure(e)->poll(cancel);
  CHECK(r.notices.empty());
  REQUIRE(r.errors.size() == 1);
  CHECK(has(r.errors[0].message(), "no Events array"));
}
