#include "kube/watch_stream.h"

#include <doctest/doctest.h>

using namespace wscp;
using namespace wscp::kube;

namespace {

Status write(WatchEventSink& sink, const std::string& s) {
  return sink.write(std::as_bytes(std::span(s.data(), s.size())));
}

const std::string kThree = R"({"type":"ADDED","object":{"metadata":{"name":"a"}}})"
                           "\n"
                           R"({"type":"MODIFIED","object":{"metadata":{"name":"a"}}})"
                           "\r\n\n"
                           R"({"type":"DELETED","object":{"metadata":{"name":"a"}}})"
                           "\n";

}  // namespace

TEST_CASE("watch stream: events are whole whatever the chunk boundaries") {
  for (std::size_t chunk : {1u, 2u, 5u, 13u, 64u, 1000u}) {
    CAPTURE(chunk);
    std::vector<WatchEventType> types;
    WatchEventSink sink(
        [&](const WatchEvent& e) {
          types.push_back(e.type);
          CHECK(e.object["metadata"]["name"] == "a");
          return Status(Ok{});
        },
        "watch x");
    for (std::size_t i = 0; i < kThree.size(); i += chunk) REQUIRE(write(sink, kThree.substr(i, chunk)).ok());
    REQUIRE(sink.close().ok());
    CHECK(types == std::vector{WatchEventType::kAdded, WatchEventType::kModified, WatchEventType::kDeleted});
    CHECK(sink.events() == 3);
  }
}

TEST_CASE("watch stream: a line longer than the bound is refused") {
  WatchEventSink sink([](const WatchEvent&) { return Status(Ok{}); }, "watch x", 64);
  std::string big = R"({"type":"ADDED","object":{"metadata":{"name":")" + std::string(100, 'x') + "\"}}}";
  Status s = write(sink, big.substr(0, 50));
  REQUIRE(s.ok());
  s = write(sink, big.substr(50));
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message().find("larger than 64 bytes") != std::string::npos);
}

TEST_CASE("watch stream: garbage and unknown types are errors; the handler's error stops the stream") {
  WatchEventSink garbage([](const WatchEvent&) { return Status(Ok{}); }, "watch x");
  CHECK_FALSE(write(garbage, "hello\n").ok());
  WatchEventSink unknown([](const WatchEvent&) { return Status(Ok{}); }, "watch x");
  auto u = write(unknown, R"({"type":"RENAMED","object":{}})"
                          "\n");
  REQUIRE_FALSE(u.ok());
  CHECK(u.error().message().find("RENAMED") != std::string::npos);

  int calls = 0;
  WatchEventSink stopping(
      [&](const WatchEvent&) {
        ++calls;
        return Status(Error(ErrorCode::kCancelled, "enough"));
      },
      "watch x");
  auto s = write(stopping, kThree);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message() == "enough");
  CHECK(calls == 1);
}
