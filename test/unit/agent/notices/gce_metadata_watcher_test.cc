#include "agent/notices/gce_metadata_watcher.h"

#include <doctest/doctest.h>

#include <deque>

#include "common/fake_clock.h"
#include "testing/fake_http.h"

using namespace wscp;
using namespace wscp::agent::notices;
using wscp::agent::testing::FakeHttp;

namespace {

struct Fixture {
  std::deque<Result<http::Response>> answers;
  std::shared_ptr<FakeHttp> http = std::make_shared<FakeHttp>([this](const http::Request&) -> Result<http::Response> {
    auto a = std::move(answers.front());
    answers.pop_front();
    return a;
  });
  std::shared_ptr<testing::FakeClock> clock = std::make_shared<testing::FakeClock>();
  CancelToken cancel;
  GceMetadataWatcher watcher{config(), http, clock};

  static GceMetadataConfig config() {
    GceMetadataConfig c;
    c.base_url = "http://md.test";
    c.wait_timeout = std::chrono::seconds(45);
    return c;
  }

  void answer(int status, std::string body, std::string etag = "") {
    std::vector<http::Header> h;
    if (!etag.empty()) h.push_back({"ETag", etag});
    answers.push_back(FakeHttp::answer(status, std::move(body), std::move(h)));
  }
};

}  // namespace

TEST_CASE("GCE: FALSE is no notice; then each poll waits for a change from the last ETag") {
  Fixture f;
  f.answer(200, "FALSE", "e1");
  f.answer(200, "FALSE", "e2");
  auto r = f.watcher.poll(f.cancel);
  CHECK(r.notices.empty());
  CHECK(r.errors.empty());
  CHECK(f.watcher.poll_interval() == std::chrono::milliseconds(0));  // the next poll paces itself
  (void)f.watcher.poll(f.cancel);
  auto sent = f.http->sent();
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].url == "http://md.test/computeMetadata/v1/instance/preempted");
  CHECK(FakeHttp::header(sent[0], "Metadata-Flavor") == "Google");
  CHECK(sent[1].url ==
        "http://md.test/computeMetadata/v1/instance/preempted?wait_for_change=true&last_etag=e1&timeout_sec=45");
  CHECK(FakeHttp::header(sent[1], "Metadata-Flavor") == "Google");
  CHECK(sent[1].timeout > std::chrono::seconds(45));  // the request outlives the server's wait
}

TEST_CASE("GCE: TRUE is a termination 30 s after it was seen") {
  Fixture f;
  f.clock->sleep_for(std::chrono::seconds(1000));
  f.answer(200, "TRUE", "e1");
  auto r = f.watcher.poll(f.cancel);
  REQUIRE(r.notices.size() == 1);
  const auto& n = r.notices[0];
  CHECK(n.provider == Provider::kGce);
  CHECK(n.kind == NoticeKind::kTermination);
  CHECK(n.detected_at == f.clock->wall_now());
  REQUIRE(n.deadline);
  CHECK(*n.deadline - n.detected_at == std::chrono::seconds(30));
}

TEST_CASE("GCE: anything but TRUE or FALSE is malformed, and the next poll starts over without waiting") {
  for (const char* body : {"true", "YES", "", "TRUE FALSE", "{\"preempted\": true}"}) {
    CAPTURE(body);
    Fixture f;
    f.answer(200, "FALSE", "e1");
    f.answer(200, body, "e2");
    (void)f.watcher.poll(f.cancel);
    auto r = f.watcher.poll(f.cancel);
    CHECK(r.notices.empty());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].code() == ErrorCode::kInternal);
    CHECK(f.watcher.poll_interval() > std::chrono::milliseconds(0));
    f.answer(200, "FALSE", "e3");
    (void)f.watcher.poll(f.cancel);
    CHECK(f.http->sent().back().url.find("wait_for_change") == std::string::npos);
  }
}

TEST_CASE("GCE: a refused request (403 without the header) is an error") {
  Fixture f;
  f.answer(403, "Missing Metadata-Flavor:Google header.");
  auto r = f.watcher.poll(f.cancel);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].code() == ErrorCode::kPermissionDenied);
  CHECK(r.errors[0].message().find("403") != std::string::npos);
}
