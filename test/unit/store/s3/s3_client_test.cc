#include "store/s3/s3_client.h"

#include <doctest/doctest.h>

#include <deque>
#include <mutex>

using namespace wscp;
using namespace wscp::store::s3;

namespace {

// Answers from a script and records what was sent.
class FakeHttp : public http::Client {
 public:
  std::deque<Result<http::Response>> answers;
  std::vector<http::Request> sent;

  Result<http::Response> send(const http::Request& request, ByteSink*) override {
    std::lock_guard lock(mu_);
    sent.push_back(request);
    if (answers.empty()) return http::Response{200, {}, ""};
    auto r = answers.front();
    answers.pop_front();
    return r;
  }

 private:
  std::mutex mu_;
};

http::Response status(int code, std::string body = "") { return http::Response{code, {}, std::move(body)}; }

struct Fixture {
  std::shared_ptr<FakeHttp> http = std::make_shared<FakeHttp>();
  std::vector<std::chrono::milliseconds> sleeps;
  S3Client client;

  explicit Fixture(S3Config config = make_config())
      : client(config, Credentials{"AKID", "SECRET", "TOKEN"}, http,
               [] { return std::chrono::system_clock::from_time_t(1369353600); },
               [this](std::chrono::milliseconds d) { sleeps.push_back(d); }) {}

  static S3Config make_config() {
    S3Config c;
    c.bucket = "bucket";
    c.prefix = "pre";
    c.endpoint = "http://127.0.0.1:9000";
    c.path_style = true;
    c.retry.max_attempts = 4;
    return c;
  }
};

std::optional<std::string> header(const http::Request& r, const std::string& name) {
  for (const auto& h : r.headers) {
    std::string n = h.name;
    for (auto& ch : n) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (n == name) return h.value;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("requests are signed, path-style, and carry no checksum headers") {
  Fixture f;
  std::string body = "hello";
  S3Call call;
  call.method = "PUT";
  call.key = f.client.full_key("a b/c");
  call.query = {{"partNumber", "1"}, {"uploadId", "x/y"}};
  call.body = &body;
  REQUIRE(f.client.call(call));
  REQUIRE(f.http->sent.size() == 1);
  const auto& r = f.http->sent[0];
  CHECK(r.url == "http://127.0.0.1:9000/bucket/pre/a%20b/c?partNumber=1&uploadId=x%2Fy");
  CHECK(header(r, "host") == "127.0.0.1:9000");
  CHECK(header(r, "x-amz-date") == "20130524T000000Z");
  CHECK(header(r, "x-amz-security-token") == "TOKEN");
  CHECK(header(r, "x-amz-content-sha256") ==
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  auto auth = header(r, "authorization");
  REQUIRE(auth);
  CHECK(auth->rfind("AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request,", 0) == 0);
  CHECK(auth->find("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,") != std::string::npos);
  for (const auto& h : r.headers) {
    CHECK_MESSAGE(h.name.find("checksum") == std::string::npos, h.name);
  }
  CHECK(r.body_size == 5u);
}

TEST_CASE("virtual-host addressing for AWS") {
  S3Config c;
  c.bucket = "bucket";
  c.region = "eu-west-1";
  Fixture f(c);
  S3Call call;
  call.key = "k";
  REQUIRE(f.client.call(call));
  CHECK(f.http->sent[0].url == "https://bucket.s3.eu-west-1.amazonaws.com/k");
}

TEST_CASE("5xx and transport failures are retried with growing jittered delays") {
  Fixture f;
  f.http->answers = {status(503), Error(ErrorCode::kUnavailable, "connection reset"), status(500), status(200)};
  S3Call call;
  call.what = "test";
  auto r = f.client.call(call);
  REQUIRE(r);
  CHECK(f.http->sent.size() == 4);
  REQUIRE(f.sleeps.size() == 3);
  CHECK(f.sleeps[0] <= std::chrono::milliseconds(200));
  CHECK(f.sleeps[2] <= std::chrono::milliseconds(800));
  CHECK(f.sleeps[2] >= std::chrono::milliseconds(200));
}

TEST_CASE("giving up is kUnavailable with the last error") {
  Fixture f;
  f.http->answers = {status(503), status(503), status(503), status(503, "<Error><Code>SlowDown</Code></Error>")};
  S3Call call;
  call.what = "upload part 1";
  auto r = f.client.call(call);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == ErrorCode::kUnavailable);
  CHECK(r.error().message().find("gave up after 4 attempts") != std::string::npos);
  CHECK(r.error().message().find("SlowDown") != std::string::npos);
}

TEST_CASE("client errors are not retried and say what to do") {
  Fixture f;
  f.http->answers = {status(403, "<Error><Code>AccessDenied</Code><Message>Access Denied.</Message></Error>")};
  S3Call call;
  call.what = "upload";
  auto r = f.client.call(call);
  REQUIRE_FALSE(r);
  CHECK(f.http->sent.size() == 1);
  CHECK(r.error().code() == ErrorCode::kPermissionDenied);
  CHECK(r.error().message().find("check the access key") != std::string::npos);

  f.http->answers = {status(404, "<Error><Code>NoSuchBucket</Code></Error>")};
  r = f.client.call(call);
  CHECK(r.error().code() == ErrorCode::kNotFound);
  CHECK(r.error().message().find("bucket 'bucket' does not exist") != std::string::npos);
}

TEST_CASE("retries and final failures are reported by kind; an absent object is not a failure") {
  Fixture f;
  std::vector<std::string> retries, failures;
  f.client.set_events({[&](std::string_view k) { retries.emplace_back(k); },
                       [&](std::string_view k) { failures.emplace_back(k); }});
  S3Call call;
  call.what = "test";
  f.http->answers = {status(503, "<Error><Code>SlowDown</Code></Error>"), status(429),
                     Error(ErrorCode::kUnavailable, "connection reset"), status(200)};
  REQUIRE(f.client.call(call));
  CHECK(retries == std::vector<std::string>{"throttled", "throttled", "unavailable"});
  CHECK(failures.empty());

  retries.clear();
  f.http->answers = {status(500), status(500), status(500), status(500)};
  CHECK_FALSE(f.client.call(call));
  CHECK(retries == std::vector<std::string>{"unavailable", "unavailable", "unavailable"});
  CHECK(failures == std::vector<std::string>{"unavailable"});

  retries.clear();
  failures.clear();
  f.http->answers = {status(403, "<Error><Code>AccessDenied</Code></Error>")};
  CHECK_FALSE(f.client.call(call));
  f.http->answers = {status(404, "<Error><Code>NoSuchKey</Code></Error>")};
  CHECK_FALSE(f.client.call(call));
  CHECK(retries.empty());
  CHECK(failures == std::vector<std::string>{"permission"});
}
