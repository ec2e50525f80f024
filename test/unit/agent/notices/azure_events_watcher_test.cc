#include "agent/notices/azure_events_watcher.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "common/fake_clock.h"
#include "common/time_format.h"
#include "testing/fake_http.h"

using namespace wscp;
using namespace wscp::agent::notices;
using wscp::agent::testing::FakeHttp;

namespace {

struct Fixture {
  std::string document = R"({"DocumentIncarnation": 1, "Events": []})";
  int name_requests = 0;
  std::shared_ptr<FakeHttp> http = std::make_shared<FakeHttp>([this](const http::Request& r) -> Result<http::Response> {
    if (r.url.find("/metadata/instance/compute/name") != std::string::npos) {
      ++name_requests;
      return FakeHttp::answer(200, "vm-1");
    }
    if (r.method == "POST") return FakeHttp::answer(200, "");
    return FakeHttp::answer(200, document);
  });
  std::shared_ptr<testing::FakeClock> clock = std::make_shared<testing::FakeClock>();
  CancelToken cancel;
  AzureEventsWatcher watcher{config(), http, clock};

  static AzureEventsConfig config() {
    AzureEventsConfig c;
    c.base_url = "http://az.test";
    return c;
  }

  static std::string event(const std::string& id, const std::string& type, const std::string& resource,
                           const std::string& not_before, const std::string& status = "Scheduled") {
    return nlohmann::json{{"EventId", id},           {"EventType", type},         {"ResourceType", "VirtualMachine"},
                          {"Resources", {resource}}, {"EventStatus", status},     {"NotBefore", not_before},
                          {"Description", ""},       {"EventSource", "Platform"}, {"DurationInSeconds", -1}}
        .dump();
  }
};

}  // namespace

TEST_CASE("Azure: no events, no notice; the VM's name is asked once; Metadata: true on every request") {
  Fixture f;
  auto r = f.watcher.poll(f.cancel);
  CHECK(r.notices.empty());
  CHECK(r.errors.empty());
  (void)f.watcher.poll(f.cancel);
  CHECK(f.name_requests == 1);
  for (const auto& s : f.http->sent()) CHECK(FakeHttp::header(s, "Metadata") == "true");
  CHECK(f.http->sent().back().url == "http://az.test/metadata/scheduledevents?api-version=2020-07-01");
}

TEST_CASE("Azure: a Preempt event for this VM is a termination at NotBefore; others are not notices") {
  Fixture f;
  f.document = std::string(R"({"DocumentIncarnation": 3, "Events": [)") +
               Fixture::event("A", "Preempt", "vm-1", "Mon, 19 Sep 2016 18:29:47 GMT") + "," +
               Fixture::event("B", "Preempt", "vm-2", "Mon, 19 Sep 2016 18:29:47 GMT") + "," +
               Fixture::event("C", "Reboot", "vm-1", "Mon, 19 Sep 2016 18:35:00 GMT") + "]}";
  auto r = f.watcher.poll(f.cancel);
  CHECK(r.errors.empty());
  REQUIRE(r.notices.size() == 1);
  const auto& n = r.notices[0];
  CHECK(n.provider == Provider::kAzure);
  CHECK(n.id == "A");
  CHECK(n.action == "Preempt");
  REQUIRE(n.deadline);
  CHECK(utc_rfc3339(*n.deadline) == "2016-09-19T18:29:47Z");
}

TEST_CASE("Azure: a started event (empty NotBefore) is due now") {
  Fixture f;
  f.clock->sleep_for(std::chrono::hours(1));
  f.document = std::string(R"({"DocumentIncarnation": 4, "Events": [)") +
               Fixture::event("A", "Preempt", "vm-1", "", "Started") + "]}";
  auto r = f.watcher.poll(f.cancel);
  REQUIRE(r.notices.size() == 1);
  CHECK(*r.notices[0].deadline == f.clock->wall_now());
}

TEST_CASE("Azure: malformed documents and events are errors, never notices") {
  const std::vector<std::string> documents = {
      "not json",
      R"({"Events": []})",
      R"({"DocumentIncarnation": "1", "Events": []})",
      R"({"DocumentIncarnation": 1})",
      R"({"DocumentIncarnation": 1, "Events": {}})",
      R"({"DocumentIncarnation": 1, "Events": [{"EventType": "Preempt"}]})",
      R"({"DocumentIncarnation": 1, "Events": [{"EventId": "A", "EventType": "Preempt", "NotBefore": "x"}]})",
      std::string(R"({"DocumentIncarnation": 1, "Events": [)") + Fixture::event("A", "Preempt", "vm-1", "soon") + "]}",
  };
  for (const auto& doc : documents) {
    CAPTURE(doc);
    Fixture f;
    f.document = doc;
    auto r = f.watcher.poll(f.cancel);
    CHECK(r.notices.empty());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].code() == ErrorCode::kInternal);
  }
}

TEST_CASE("Azure: acknowledging posts StartRequests with the event id") {
  Fixture f;
  TerminationNotice n;
  n.provider = Provider::kAzure;
  n.id = "602d9444-d2cd-49c7-8624-8643e7171297";
  REQUIRE(f.watcher.acknowledge(n).ok());
  auto sent = f.http->sent().back();
  CHECK(sent.method == "POST");
  CHECK(sent.url == "http://az.test/metadata/scheduledevents?api-version=2020-07-01");
  CHECK(FakeHttp::header(sent, "Metadata") == "true");
  CHECK(nlohmann::json::parse(sent.body) ==
        nlohmann::json::parse(R"({"StartRequests": [{"EventId": "602d9444-d2cd-49c7-8624-8643e7171297"}]})"));
}
