#include "agent/notices/notice_monitor.h"

#include <doctest/doctest.h>

#include <deque>
#include <sstream>

#include "common/fake_clock.h"
#include "log/stream_logger.h"
#include "metrics/agent_metrics.h"

using namespace wscp;
using namespace wscp::agent::notices;

namespace {

class ScriptedWatcher final : public NoticeWatcher {
 public:
  explicit ScriptedWatcher(Provider p) : provider_(p) {}
  std::deque<PollResult> script;
  std::vector<std::string> acknowledged;
  Provider provider() const override { return provider_; }
  PollResult poll(const CancelToken&) override {
    if (script.empty()) return {};
    auto r = std::move(script.front());
    script.pop_front();
    return r;
  }
  std::chrono::milliseconds poll_interval() const override { return std::chrono::milliseconds(200); }
  Status acknowledge(const TerminationNotice& n) override {
    acknowledged.push_back(n.id);
    return Ok{};
  }

 private:
  Provider provider_;
};

TerminationNotice notice(std::string id, NoticeKind kind = NoticeKind::kTermination) {
  TerminationNotice n;
  n.provider = Provider::kAws;
  n.kind = kind;
  n.id = std::move(id);
  n.action = "terminate";
  n.deadline = std::chrono::system_clock::time_point(std::chrono::hours(1));
  return n;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

struct Fixture {
  std::ostringstream log_text;
  std::shared_ptr<testing::FakeClock> clock = std::make_shared<testing::FakeClock>();
  std::shared_ptr<metrics::AgentMetrics> metrics = std::make_shared<metrics::AgentMetrics>("test");
  std::vector<TerminationNotice> delivered;
  ScriptedWatcher* watcher = nullptr;
  std::unique_ptr<NoticeMonitor> monitor;

  Fixture() {
    auto w = std::make_unique<ScriptedWatcher>(Provider::kAws);
    watcher = w.get();
    std::vector<std::unique_ptr<NoticeWatcher>> ws;
    ws.push_back(std::move(w));
    monitor = std::make_unique<NoticeMonitor>(
        std::move(ws), clock, log::make_stream_logger(log_text, log::Format::kText, log::Level::kInfo, clock),
        metrics, [this](const TerminationNotice& n) { delivered.push_back(n); });
  }
};

}  // namespace

TEST_CASE("each distinct notice is delivered, logged and counted once") {
  Fixture f;
  f.watcher->script.push_back({{notice("a")}, {}});
  f.watcher->script.push_back({{notice("a"), notice("r", NoticeKind::kRebalance)}, {}});
  f.watcher->script.push_back({{notice("a")}, {}});
  CHECK(f.monitor->check(0) == std::chrono::milliseconds(200));
  (void)f.monitor->check(0);
  (void)f.monitor->check(0);
  REQUIRE(f.delivered.size() == 2);
  CHECK(f.delivered[0].id == "a");
  CHECK(f.delivered[1].id == "r");
  CHECK(f.monitor->notices().size() == 2);
  const std::string m = f.metrics->exposition();
  CHECK(has(m, R"(wscp_agent_notices_total{kind="termination",provider="aws"} 1)"));
  CHECK(has(m, R"(wscp_agent_notices_total{kind="rebalance",provider="aws"} 1)"));
  CHECK(has(f.log_text.str(), "termination notice provider=aws kind=termination action=terminate id=a"));
}

TEST_CASE("failed polls are counted every time, logged when they change or once a minute, and slow the polling") {
  Fixture f;
  for (int i = 0; i < 5; ++i) f.watcher->script.push_back({{}, {Error(ErrorCode::kInternal, "malformed answer")}});
  f.watcher->script.push_back({{}, {Error(ErrorCode::kUnavailable, "connection refused")}});
  for (int i = 0; i < 5; ++i) CHECK(f.monitor->check(0) >= std::chrono::milliseconds(1000));
  (void)f.monitor->check(0);
  const std::string m = f.metrics->exposition();
  CHECK(has(m, R"(wscp_agent_notice_poll_errors_total{provider="aws",reason="malformed"} 5)"));
  CHECK(has(m, R"(wscp_agent_notice_poll_errors_total{provider="aws",reason="unreachable"} 1)"));
  const std::string log_text = f.log_text.str();
  std::size_t lines = 0;
  for (std::size_t p = 0; (p = log_text.find("poll failed", p)) != std::string::npos; ++p) ++lines;
  CHECK(lines == 2);  // the first malformed one, then the new problem
  // The same problem a minute later is logged again, with how often it was not.
  f.watcher->script.push_back({{}, {Error(ErrorCode::kUnavailable, "connection refused")}});
  f.watcher->script.push_back({{}, {Error(ErrorCode::kUnavailable, "connection refused")}});
  (void)f.monitor->check(0);
  f.clock->sleep_for(std::chrono::seconds(61));
  (void)f.monitor->check(0);
  CHECK(has(f.log_text.str(), "repeated=1"));
  CHECK(f.delivered.empty());
}

TEST_CASE("an acknowledgement goes to the watcher of the notice's provider") {
  Fixture f;
  CHECK(f.monitor->acknowledge(notice("a")).ok());
  CHECK(f.watcher->acknowledged == std::vector<std::string>{"a"});
  auto other = notice("g");
  other.provider = Provider::kGce;
  auto s = f.monitor->acknowledge(other);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code() == ErrorCode::kNotFound);
}

TEST_CASE("poll errors are classified for the metric") {
  CHECK(poll_error_reason(Error(ErrorCode::kUnavailable, "")) == "unreachable");
  CHECK(poll_error_reason(Error(ErrorCode::kPermissionDenied, "")) == "refused");
  CHECK(poll_error_reason(Error(ErrorCode::kInternal, "")) == "malformed");
  CHECK(poll_error_reason(Error(ErrorCode::kCancelled, "")) == "other");
}
