#include "store/s3/s3_store.h"

#include <doctest/doctest.h>

#include <map>
#include <mutex>

#include "s3/fake_s3.h"
#include "store/checkpoint_store.h"
#include "store/layout.h"
#include "store/store_url.h"
#include "test_util.h"

using namespace wscp;
using namespace wscp::store;
using namespace wscp::store::testing;

namespace {

constexpr std::uint64_t kPart = 5ull << 20;

struct Env {
  std::shared_ptr<FakeS3> fake = std::make_shared<FakeS3>();

  // A store on the fake server; `options` are extra URL options.
  std::unique_ptr<ObjectStore> open(const std::string& options = "") {
    auto config = parse_s3_url("s3://bucket/pre?endpoint=http://127.0.0.1:9000&part_size=5MiB&concurrency=2&attempts=3" +
                               options);
    REQUIRE_MESSAGE(config, (config ? "" : config.error().describe()));
    auto fake_ptr = fake;
    auto client = std::make_shared<s3::S3Client>(
        *config, s3::Credentials{"AKID", "SECRET", ""}, fake, [fake_ptr] { return fake_ptr->current(); },
        [](std::chrono::milliseconds) {});
    return s3::make_s3_store(client);
  }
};

Status put(ObjectStore& store, const std::string& key, const std::string& data) {
  OperationContext ctx;
  return put_object(store, key, data, ctx);
}

Result<std::string> get(ObjectStore& store, const std::string& key) {
  OperationContext ctx;
  auto src = store.open(key, ctx);
  if (!src) return src.error();
  return read_all(**src);
}

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

EncryptionKey key_of(char fill) {
  std::array<std::uint8_t, 32> b{};
  b.fill(static_cast<std::uint8_t>(fill));
  return make_key(b);
}

}  // namespace

TEST_CASE("ranged reads of a multipart-sized object go through 206 answers") {
  Env env;
  auto store = env.open();
  const std::string data = pattern(2 * kPart + 12345);
  env.fake->objects["pre/big"] = FakeS3::Object{data, "\"e1\"", env.fake->now, {}};
  auto got = get(*store, "big");
  REQUIRE_MESSAGE(got, (got ? "" : got.error().describe()));
  CHECK(*got == data);
  CHECK(env.fake->largest_sink_delivery <= kPart);
}

TEST_CASE("a server that ignores Range is refused without buffering the whole object") {
  Env env;
  auto store = env.open();
  env.fake->ignore_range = true;
  const std::string data = pattern(3 * kPart);
  env.fake->objects["pre/big"] = FakeS3::Object{data, "\"e1\"", env.fake->now, {}};
  auto got = get(*store, "big");
  REQUIRE_FALSE(got);
  INFO(got.error().describe());
  CHECK(got.error().message().find("Range") != std::string::npos);
  // Never more than one range (plus one transport chunk) held for a request.
  CHECK(env.fake->largest_sink_delivery <= kPart + env.fake->chunk);
}

TEST_CASE("numbers in the server's answers never throw") {
  Env env;
  auto store = env.open();
  REQUIRE(put(*store, "a", "hello"));
  SUBCASE("a list with a size that is not a number") {
    env.fake->on_after([](const FakeS3::Call& c, const http::Response&) -> std::optional<Result<http::Response>> {
      if (c.method != "GET" || !c.key.empty()) return std::nullopt;
      return http::Response{200, {}, "<ListBucketResult><Contents><Key>pre/a</Key><Size>12abc</Size>"
                                     "<LastModified>2027-01-15T08:00:00.000Z</LastModified></Contents>"
                                     "<IsTruncated>false</IsTruncated></ListBucketResult>"};
    });
    Result<std::vector<ObjectInfo>> listed = Error(ErrorCode::kInternal, "not run");
    CHECK_NOTHROW(listed = store->list(""));
    REQUIRE_FALSE(listed);
    CHECK(listed.error().message().find("Size") != std::string::npos);
  }
  SUBCASE("a list with a size beyond 64 bits") {
    env.fake->on_after([](const FakeS3::Call& c, const http::Response&) -> std::optional<Result<http::Response>> {
      if (c.method != "GET" || !c.key.empty()) return std::nullopt;
      return http::Response{200, {}, "<ListBucketResult><Contents><Key>pre/a</Key><Size>99999999999999999999999</Size>"
                                     "<LastModified>2027-01-15T08:00:00.000Z</LastModified></Contents>"
                                     "<IsTruncated>false</IsTruncated></ListBucketResult>"};
    });
    Result<std::vector<ObjectInfo>> listed = Error(ErrorCode::kInternal, "not run");
    CHECK_NOTHROW(listed = store->list(""));
    CHECK_FALSE(listed);
  }
  SUBCASE("a HEAD with a Content-Length that is not a number") {
    env.fake->on_after([](const FakeS3::Call& c, const http::Response&) -> std::optional<Result<http::Response>> {
      if (c.method != "HEAD") return std::nullopt;
      return http::Response{200, {{"Content-Length", "12x"}, {"ETag", "\"e\""},
                                  {"Last-Modified", "Fri, 15 Jan 2027 08:00:00 GMT"}}, ""};
    });
    Result<std::optional<ObjectInfo>> info = Error(ErrorCode::kInternal, "not run");
    CHECK_NOTHROW(info = store->head("a"));
    REQUIRE_FALSE(info);
    CHECK(info.error().message().find("Content-Length") != std::string::npos);
  }
}

TEST_CASE("a CompleteMultipartUpload whose answer was lost is not reported as a failure") {
  Env env;
  auto store = env.open();
  int completes = 0;
  env.fake->on_after([&](const FakeS3::Call& c, const http::Response&) -> std::optional<Result<http::Response>> {
    // The server completes the upload, but its answer never arrives.
    if (c.method == "POST" && c.query.count("uploadId") && completes++ == 0) {
      return Result<http::Response>(Error(ErrorCode::kUnavailable, "connection reset by peer"));
    }
    return std::nullopt;
  });
  const std::string data = pattern(2 * kPart + 1000);
  auto st = put(*store, "obj", data);
  REQUIRE_MESSAGE(st, (st ? "" : st.error().describe()));
  CHECK(completes == 2);
  auto got = get(*store, "obj");
  REQUIRE(got);
  CHECK(*got == data);
}

TEST_CASE("a CompleteMultipartUpload retried into another writer's object still fails") {
  Env env;
  auto store = env.open();
  int completes = 0;
  env.fake->on_after([&](const FakeS3::Call& c, const http::Response&) -> std::optional<Result<http::Response>> {
    if (c.method == "POST" && c.query.count("uploadId") && completes++ == 0) {
      // Completed, answer lost, and then someone else replaced the object.
      env.fake->objects[c.key] = FakeS3::Object{"other", "\"other\"", env.fake->now, {}};
      return Result<http::Response>(Error(ErrorCode::kUnavailable, "connection reset by peer"));
    }
    return std::nullopt;
  });
  auto st = put(*store, "obj", pattern(2 * kPart));
  REQUIRE_FALSE(st);
  INFO(st.error().describe());
  CHECK(st.error().code() != ErrorCode::kInternal);
}

TEST_CASE("the sweep of incomplete uploads touches only this writer's uploads") {
  Env env;
  auto a = env.open("&writer=node-a");
  auto b = env.open("&writer=node-b");
  OperationContext ctx;
  const std::string data = pattern(2 * kPart + 10);
  auto write_some = [&](ObjectStore& s, const std::string& key) {
    auto w = s.create(key, ctx);
    REQUIRE(w);
    REQUIRE((*w)->write(std::as_bytes(std::span(data.data(), data.size()))));
    return std::move(*w);
  };
  // b's upload is in progress (slow, not abandoned).
  auto b_writer = write_some(*b, "b-object");
  // a's upload is abandoned and its abort cannot reach the server.
  {
    env.fake->on_before([](const FakeS3::Call& c) -> std::optional<Result<http::Response>> {
      if (c.method == "DELETE" && c.query.count("uploadId")) {
        return Result<http::Response>(Error(ErrorCode::kUnavailable, "connection refused"));
      }
      return std::nullopt;
    });
    auto a_writer = write_some(*a, "a-object");
  }
  env.fake->on_before(nullptr);
  REQUIRE(env.fake->upload_count() == 2);
  env.fake->advance(std::chrono::hours(2));

  auto swept = a->sweep_incomplete(std::chrono::hours(1));
  REQUIRE_MESSAGE(swept, (swept ? "" : swept.error().describe()));
  CHECK(*swept == 1);
  REQUIRE(env.fake->upload_count() == 1);
  CHECK(env.fake->uploads.begin()->second.key == "pre/b-object");
  // b finishes its upload undisturbed.
  auto st = b_writer->close();
  REQUIRE_MESSAGE(st, (st ? "" : st.error().describe()));
  CHECK(env.fake->objects.count("pre/b-object") == 1);
  CHECK(env.fake->uploads.empty());
}

TEST_CASE("invalid bucket names are invalid arguments with a clear message") {
  for (std::string bucket : std::vector<std::string>{"Bad_Bucket", "ab", "a..b", "-abc", "abc-", "192.168.1.1",
                                                     std::string(64, 'a')}) {
    auto c = parse_s3_url("s3://" + bucket + "/prefix");
    INFO(bucket);
    REQUIRE_FALSE(c);
    CHECK(c.error().code() == ErrorCode::kInvalidArgument);
    CHECK(c.error().message().find("bucket") != std::string::npos);
  }
  for (std::string bucket : std::vector<std::string>{"abc", "my-bucket.example", "a1b2c3", std::string(63, 'a')}) {
    INFO(bucket);
    CHECK(parse_s3_url("s3://" + bucket + "/prefix"));
  }
  // A name only the server refuses.
  Env env;
  auto store = env.open();
  env.fake->on_before([](const FakeS3::Call&) -> std::optional<Result<http::Response>> {
    return http::Response{400, {}, "<Error><Code>InvalidBucketName</Code><Message>The specified bucket is not valid."
                                   "</Message></Error>"};
  });
  auto r = store->head("x");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == ErrorCode::kInvalidArgument);
  CHECK(r.error().message().find("bucket 'bucket'") != std::string::npos);
}

TEST_CASE("a malformed S3 URL is an error, never an exception") {
  for (std::string url : std::vector<std::string>{"s3://bucket/p?region=%zz", "s3://bucket/p?region=%",
                                                  "s3://bucket/p?part_size=99999999999999999999999",
                                                  "s3://bucket/p?concurrency=-1", "s3://bucket/p?attempts=x"}) {
    INFO(url);
    Result<s3::S3Config> c = Error(ErrorCode::kInternal, "not run");
    CHECK_NOTHROW(c = parse_s3_url(url));
    CHECK_FALSE(c);
  }
}

TEST_CASE("a shared store is refused without a key") {
  Env env;
  auto objects = env.open();
  OperationContext ctx;
  CheckpointStoreOptions none;
  CheckpointStore checkpoints(*objects, none);
  auto w = checkpoints.create_archive("ws", "c1", "dev", ctx);
  REQUIRE_FALSE(w);
  CHECK(w.error().code() == ErrorCode::kPermissionDenied);
  CHECK(w.error().message().find("--encryption-key") != std::string::npos);
  auto m = checkpoints.read_manifest("ws", "c1", ctx);
  REQUIRE_FALSE(m);
  CHECK(m.error().code() == ErrorCode::kPermissionDenied);

  // A manifest key alone is enough: everything read back is authenticated.
  CheckpointStoreOptions with_mac;
  with_mac.manifest_key = key_of('m');
  CheckpointStore authenticated(*objects, with_mac);
  StringSource tar(std::string("a tar"));
  auto a = authenticated.put_archive("ws", "c1", "dev", tar, ctx);
  REQUIRE_MESSAGE(a, (a ? "" : a.error().describe()));
}

TEST_CASE("S3 create_exclusive: If-None-Match, a conflict, and a retry after a lost answer") {
  Env env;
  auto store = env.open();
  OperationContext ctx;
  REQUIRE(store->create_exclusive("locks/ws", "holder a", ctx));
  auto second = store->create_exclusive("locks/ws", "holder b", ctx);
  REQUIRE_FALSE(second);
  CHECK(second.error().code() == ErrorCode::kConflict);
  CHECK(second.error().message().find("already exists") != std::string::npos);
  CHECK(*get(*store, "locks/ws") == "holder a");

  // The server creates the object but the answer is lost: the retry meets
  // 412 and recognises its own object.
  int puts = 0;
  env.fake->on_after([&](const FakeS3::Call& c, const http::Response&) -> std::optional<Result<http::Response>> {
    if (c.method == "PUT" && puts++ == 0) return Result<http::Response>(Error(ErrorCode::kUnavailable, "reset"));
    return std::nullopt;
  });
  auto st = store->create_exclusive("locks/other", "holder c", ctx);
  REQUIRE_MESSAGE(st, (st ? "" : st.error().describe()));
  CHECK(puts == 2);
}

TEST_CASE("S3 head, list and the store's clock carry the server's times") {
  Env env;
  auto store = env.open();
  REQUIRE(put(*store, "a", "hello"));
  env.fake->now += std::chrono::hours(1);
  auto now = store->now();
  REQUIRE(now);
  CHECK(*now == env.fake->now);
  auto info = store->head("a");
  REQUIRE(info);
  REQUIRE(*info);
  CHECK((*info)->last_modified == env.fake->now - std::chrono::hours(1));
  CHECK((*info)->etag == env.fake->objects["pre/a"].etag);
  auto listed = store->list("");
  REQUIRE(listed);
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().last_modified == (*info)->last_modified);
  CHECK(store->shared());

  env.fake->on_after([](const FakeS3::Call& c, const http::Response& r) -> std::optional<Result<http::Response>> {
    if (c.method != "HEAD" || !c.key.empty()) return std::nullopt;
    http::Response copy = r;
    copy.headers.clear();
    return copy;  // no Date
  });
  auto no_date = store->now();
  REQUIRE_FALSE(no_date);
  CHECK(no_date.error().message().find("Date") != std::string::npos);
}

TEST_CASE("S3 replace_if_match replaces only the version it names; remove_if_match is not offered") {
  Env env;
  auto store = env.open();
  OperationContext ctx;
  REQUIRE(store->create_exclusive("lock", "a", ctx));
  auto first = *store->head("lock");
  REQUIRE(first);
  REQUIRE(store->replace_if_match("lock", "b", first->etag, ctx));
  CHECK(*get(*store, "lock") == "b");
  // A second replace from the same (now stale) version is refused.
  auto st = store->replace_if_match("lock", "c", first->etag, ctx);
  REQUIRE_FALSE(st);
  CHECK(st.error().code() == ErrorCode::kConflict);
  CHECK(*get(*store, "lock") == "b");
  // Gone: kNotFound.
  REQUIRE(store->remove("lock"));
  CHECK(store->replace_if_match("lock", "d", first->etag, ctx).error().code() == ErrorCode::kNotFound);

  // A replace whose answer was lost is recognised on the retry's 412.
  REQUIRE(store->create_exclusive("lock", "e", ctx));
  auto current = *store->head("lock");
  int puts = 0;
  env.fake->on_after([&](const FakeS3::Call& c, const http::Response&) -> std::optional<Result<http::Response>> {
    if (c.method == "PUT" && puts++ == 0) return Result<http::Response>(Error(ErrorCode::kUnavailable, "reset"));
    return std::nullopt;
  });
  REQUIRE(store->replace_if_match("lock", "f", current->etag, ctx));
  CHECK(puts == 2);
  env.fake->on_after(nullptr);

  // Servers may ignore If-Match on DELETE: never sent, the object stays.
  auto latest = *store->head("lock");
  auto removed = store->remove_if_match("lock", latest->etag);
  REQUIRE_FALSE(removed);
  CHECK(removed.error().code() == ErrorCode::kUnsupported);
  CHECK(removed.error().message().find("replace_if_match") != std::string::npos);
  CHECK(*get(*store, "lock") == "f");
  CHECK(env.fake->count("DELETE") == 1);  // only the plain remove above
}

TEST_CASE("an upload interrupted mid-archive sends again only the segment that failed; stored ones are not resent") {
  Env env;
  auto objects = env.open();  // 3 attempts per request
  CheckpointStoreOptions o;
  o.pipeline.encryption_key = key_of('k');
  o.pipeline.compression.algorithm = Compression::kNone;
  o.pipeline.segment_size = 64 * 1024;
  CheckpointStore store(*objects, o);
  // The server goes away for segment 3's first two tries (as a 3 s outage
  // would), then answers again.
  std::mutex mu;
  std::map<std::string, int> puts;
  env.fake->on_before([&](const FakeS3::Call& c) -> std::optional<Result<http::Response>> {
    if (c.method != "PUT") return std::nullopt;
    std::lock_guard lock(mu);
    const int n = ++puts[c.key];
    if (c.key.size() > 7 && c.key.compare(c.key.size() - 7, 7, "/000003") == 0 && n <= 2)
      return Result<http::Response>(Error(ErrorCode::kUnavailable, "connection refused"));
    return std::nullopt;
  });
  OperationContext ctx;
  auto w = store.create_archive("ws", "c1", "dev", ctx);
  REQUIRE(w);
  const std::string plain = pattern(10 * 64 * 1024 - 100);
  for (std::size_t off = 0; off < plain.size(); off += 7'000)
    REQUIRE((*w)->write(bytes(plain.substr(off, 7'000))));
  auto closed = (*w)->close();
  REQUIRE_MESSAGE(closed, (closed ? "" : closed.error().describe()));

  int segments = 0;
  for (const auto& [key, n] : puts) {
    if (key.find("/0000") == std::string::npos) continue;  // not a segment
    ++segments;
    CAPTURE(key);
    CHECK(n == (key.ends_with("/000003") ? 3 : 1));  // only the one that failed was sent again
  }
  CHECK(segments >= 10);
  auto back = store.open_archive((*w)->result(), ctx);
  REQUIRE(back);
  CHECK(*read_all(**back) == plain);
}
