#include "kube/watch_state.h"

#include <doctest/doctest.h>

#include "fake_kube_client.h"

using namespace wscp;
using namespace wscp::kube;
using std::chrono::milliseconds;
using Step = WatchState::Step;

namespace {

BackoffPolicy no_jitter() {
  BackoffPolicy p;
  p.initial = milliseconds(500);
  p.max = milliseconds(4000);
  p.jitter = 0;
  return p;
}

Error gone() { return testing::FakeKubeClient::api(410, "Expired", "too old resource version"); }
Error refused() { return Error(ErrorCode::kUnavailable, "connection refused"); }

}  // namespace

TEST_CASE("watch state: list first, then watch from the list's version") {
  WatchState w(no_jitter());
  CHECK(w.next().step == Step::kList);
  CHECK(w.next().delay == milliseconds(0));
  w.list_succeeded("100");
  CHECK(w.next().step == Step::kWatch);
  CHECK(w.next().resource_version == "100");
  CHECK(w.next().delay == milliseconds(0));
  CHECK(w.listed());
}

TEST_CASE("watch state: events and bookmarks advance the version the next watch starts from") {
  WatchState w(no_jitter());
  w.list_succeeded("100");
  w.event_received(WatchEventType::kAdded, "101");
  w.event_received(WatchEventType::kBookmark, "150");
  w.watch_ended(Ok{});
  CHECK(w.next().step == Step::kWatch);
  CHECK(w.next().resource_version == "150");
  CHECK(w.next().delay == milliseconds(0));
}

TEST_CASE("watch state: 410 Gone relists at once; repeated 410s without progress back off") {
  WatchState w(no_jitter());
  w.list_succeeded("100");
  w.event_received(WatchEventType::kModified, "120");
  w.watch_ended(gone());
  CHECK(w.next().step == Step::kList);
  CHECK(w.next().delay == milliseconds(0));
  CHECK(w.resource_version().empty());
  w.list_succeeded("200");
  w.watch_ended(gone());  // no event since the last 410
  CHECK(w.next().step == Step::kList);
  CHECK(w.next().delay == milliseconds(500));
  w.list_succeeded("300");
  w.event_received(WatchEventType::kAdded, "301");
  w.watch_ended(gone());
  CHECK(w.next().delay == milliseconds(0));
  CHECK(w.lists() == 3);
}

TEST_CASE("watch state: errors reconnect from the last version with exponential backoff, capped") {
  WatchState w(no_jitter());
  w.list_succeeded("100");
  w.event_received(WatchEventType::kAdded, "105");
  const milliseconds expected[] = {milliseconds(500), milliseconds(1000), milliseconds(2000), milliseconds(4000),
                                   milliseconds(4000)};
  for (auto d : expected) {
    w.watch_ended(refused());
    CHECK(w.next().step == Step::kWatch);
    CHECK(w.next().resource_version == "105");
    CHECK(w.next().delay == d);
  }
  // An event resets the backoff.
  w.event_received(WatchEventType::kModified, "106");
  w.watch_ended(refused());
  CHECK(w.next().delay == milliseconds(500));
  CHECK(w.next().resource_version == "106");
}

TEST_CASE("watch state: a failed list is retried with backoff; a watch closed with nothing waits a little") {
  WatchState w(no_jitter());
  w.list_failed(refused());
  CHECK(w.next().step == Step::kList);
  CHECK(w.next().delay == milliseconds(500));
  w.list_failed(refused());
  CHECK(w.next().delay == milliseconds(1000));
  w.list_succeeded("7");
  w.watch_ended(Ok{});  // closed at once without events
  CHECK(w.next().step == Step::kWatch);
  CHECK(w.next().delay == milliseconds(500));
  w.watch_ended(Ok{});
  CHECK(w.next().delay == milliseconds(500));  // does not grow: a quiet resource is normal
}

TEST_CASE("watch state: backoff jitter stays within its fraction") {
  BackoffPolicy p = no_jitter();
  p.jitter = 0.2;
  CHECK(p.delay(1, 0.0) == milliseconds(500));
  CHECK(p.delay(1, 0.999) <= milliseconds(600));
  CHECK(p.delay(1, 0.5) == milliseconds(550));
  CHECK(p.delay(0, 0.5) == milliseconds(0));
}
