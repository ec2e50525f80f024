#include "agent/notices/aws_imds_watcher.h"

#include <doctest/doctest.h>

#include "common/fake_clock.h"
#include "common/time_format.h"
#include "testing/fake_http.h"

using namespace wscp;
using namespace wscp::agent::notices;
using wscp::agent::testing::FakeHttp;

namespace {

// A scripted IMDS: tokens "t1", "t2", ...; answers per path.
struct Imds {
  int tokens_issued = 0;
  std::string valid_token;
  int action_status = 404;
  std::string action_body;
  int rebalance_status = 404;
  std::string rebalance_body;
  bool reject_next_get = false;  // answer 401 once (IMDS restarted)

  Result<http::Response> operator()(const http::Request& r) {
    if (r.method == "PUT" && r.url.ends_with("/latest/api/token")) {
      valid_token = "t" + std::to_string(++tokens_issued);
      return FakeHttp::answer(200, valid_token);
    }
    if (FakeHttp::header(r, "X-aws-ec2-metadata-token") != valid_token || reject_next_get) {
      reject_next_get = false;
      return FakeHttp::answer(401, "");
    }
    if (r.url.ends_with("/latest/meta-data/spot/instance-action")) return FakeHttp::answer(action_status, action_body);
    if (r.url.ends_with("/latest/meta-data/events/recommendations/rebalance")) {
      return FakeHttp::answer(rebalance_status, rebalance_body);
    }
    return FakeHttp::answer(404, "");
  }
};

struct Fixture {
  std::shared_ptr<Imds> imds = std::make_shared<Imds>();
  std::shared_ptr<FakeHttp> http = std::make_shared<FakeHttp>([i = imds](const http::Request& r) { return (*i)(r); });
  std::shared_ptr<testing::FakeClock> clock = std::make_shared<testing::FakeClock>();
  CancelToken cancel;

  AwsImdsWatcher watcher(std::chrono::seconds ttl = std::chrono::seconds(21600)) {
    AwsImdsConfig c;
    c.base_url = "http://imds.test/";
    c.token_ttl = ttl;
    return AwsImdsWatcher(c, http, clock);
  }
};

}  // namespace

TEST_CASE("AWS: no notice when both items are absent (404); IMDSv2 token on every request") {
  Fixture f;
  auto w = f.watcher();
  auto r = w.poll(f.cancel);
  CHECK(r.notices.empty());
  CHECK(r.errors.empty());
  auto sent = f.http->sent();
  REQUIRE(sent.size() == 3);
  CHECK(sent[0].method == "PUT");
  CHECK(sent[0].url == "http://imds.test/latest/api/token");
  CHECK(FakeHttp::header(sent[0], "X-aws-ec2-metadata-token-ttl-seconds") == "21600");
  CHECK(sent[1].url == "http://imds.test/latest/meta-data/spot/instance-action");
  CHECK(FakeHttp::header(sent[1], "X-aws-ec2-metadata-token") == "t1");
  CHECK(FakeHttp::header(sent[2], "X-aws-ec2-metadata-token") == "t1");
}

TEST_CASE("AWS: an instance action is a termination at its time; a rebalance recommendation is reported too") {
  Fixture f;
  f.imds->action_status = 200;
  f.imds->action_body = R"({"action": "terminate", "time": "2026-11-23T09:43:00Z"})";
  f.imds->rebalance_status = 200;
  f.imds->rebalance_body = R"({"noticeTime": "2026-11-23T09:40:00Z"})";
  auto w = f.watcher();
  auto r = w.poll(f.cancel);
  CHECK(r.errors.empty());
  REQUIRE(r.notices.size() == 2);
  const auto& t = r.notices[0];
  CHECK(t.provider == Provider::kAws);
  CHECK(t.kind == NoticeKind::kTermination);
  CHECK(t.action == "terminate");
  REQUIRE(t.deadline);
  CHECK(utc_rfc3339(*t.deadline) == "2026-11-23T09:43:00Z");
  CHECK(t.detail == f.imds->action_body);
  CHECK(t.detected_at == f.clock->wall_now());
  const auto& rb = r.notices[1];
  CHECK(rb.kind == NoticeKind::kRebalance);
  CHECK_FALSE(rb.deadline);
  // The same notice on the next poll has the same identity.
  auto again = w.poll(f.cancel);
  REQUIRE(again.notices.size() == 2);
  CHECK(again.notices[0].id == t.id);
  CHECK(again.notices[1].id == rb.id);
}

TEST_CASE("AWS: stop and hibernate are terminations too") {
  for (const char* action : {"stop", "hibernate"}) {
    Fixture f;
    f.imds->action_status = 200;
    f.imds->action_body = std::string(R"({"action": ")") + action + R"(", "time": "2026-11-23T09:43:00Z"})";
    auto w = f.watcher();
    auto r = w.poll(f.cancel);
    REQUIRE(r.notices.size() == 1);
    CHECK(r.notices[0].action == action);
  }
}

TEST_CASE("AWS: the token is kept until shortly before it expires, then renewed") {
  Fixture f;
  auto w = f.watcher(std::chrono::seconds(600));
  (void)w.poll(f.cancel);
  (void)w.poll(f.cancel);
  CHECK(f.imds->tokens_issued == 1);
  f.clock->sleep_for(std::chrono::seconds(600 - 150 - 1));  // a quarter of the lifetime early, not yet
  (void)w.poll(f.cancel);
  CHECK(f.imds->tokens_issued == 1);
  f.clock->sleep_for(std::chrono::seconds(2));
  auto r = w.poll(f.cancel);
  CHECK(f.imds->tokens_issued == 2);
  CHECK(r.errors.empty());
}

TEST_CASE("AWS: a 401 (token no longer valid) gets a new token and one retry") {
  Fixture f;
  auto w = f.watcher();
  (void)w.poll(f.cancel);
  f.imds->reject_next_get = true;
  f.imds->action_status = 200;
  f.imds->action_body = R"({"action": "terminate", "time": "2026-11-23T09:43:00Z"})";
  auto r = w.poll(f.cancel);
  CHECK(r.errors.empty());
  CHECK(r.notices.size() == 1);
  CHECK(f.imds->tokens_issued == 2);
}

TEST_CASE("AWS: malformed answers are errors, never notices") {
  const std::vector<std::string> bodies = {
      "not json",
      "[]",
      R"({"time": "2026-11-23T09:43:00Z"})",
      R"({"action": "terminate"})",
      R"({"action": "explode", "time": "2026-11-23T09:43:00Z"})",
      R"({"action": "terminate", "time": "tomorrow"})",
      R"({"action": 1, "time": "2026-11-23T09:43:00Z"})",
      "",
  };
  for (const auto& body : bodies) {
    CAPTURE(body);
    Fixture f;
    f.imds->action_status = 200;
    f.imds->action_body = body;
    auto w = f.watcher();
    auto r = w.poll(f.cancel);
    CHECK(r.notices.empty());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].code() == ErrorCode::kInternal);
    CHECK(r.errors[0].message().find("malformed") != std::string::npos);
  }
}

TEST_CASE("AWS: a malformed rebalance answer does not hide a termination notice") {
  Fixture f;
  f.imds->action_status = 200;
  f.imds->action_body = R"({"action": "terminate", "time": "2026-11-23T09:43:00Z"})";
  f.imds->rebalance_status = 200;
  f.imds->rebalance_body = R"({"noticeTime": 5})";
  auto w = f.watcher();
  auto r = w.poll(f.cancel);
  REQUIRE(r.notices.size() == 1);
  CHECK(r.notices[0].kind == NoticeKind::kTermination);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].message().find("noticeTime") != std::string::npos);
}

TEST_CASE("AWS: an unreachable or failing IMDS is one error per poll") {
  SUBCASE("transport failure") {
    auto http = std::make_shared<FakeHttp>(
        [](const http::Request&) -> Result<http::Response> { return Error(ErrorCode::kUnavailable, "refused"); });
    AwsImdsWatcher w({}, http, std::make_shared<testing::FakeClock>());
    CancelToken cancel;
    auto r = w.poll(cancel);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].code() == ErrorCode::kUnavailable);
    CHECK(http->sent().size() == 1);
  }
  SUBCASE("server error") {
    Fixture f;
    f.imds->action_status = 503;
    auto w = f.watcher();
    auto r = w.poll(f.cancel);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].code() == ErrorCode::kUnavailable);
    CHECK(r.errors[0].message().find("503") != std::string::npos);
  }
}
