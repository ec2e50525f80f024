#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "store/s3/credentials.h"
#include "store/s3/s3_config.h"
#include "store/store_url.h"
#include "test_util.h"

using namespace wscp;
using namespace wscp::store;
using namespace wscp::store::s3;

TEST_CASE("part sizes grow so that any stream fits in 10,000 parts") {
  std::uint64_t first = 5ull << 20;
  CHECK(part_size_for(first, 1) == first);
  CHECK(part_size_for(first, 1000) == first);
  CHECK(part_size_for(first, 1001) == 2 * first);
  auto capacity = [](std::uint64_t start) {
    std::uint64_t total = 0;
    for (int n = 1; n <= kMaxParts; ++n) total += part_size_for(start, n);
    return total;
  };
  CHECK(capacity(first) > (4ull << 40));          // 4.8 TiB from the smallest start
  CHECK(capacity(16ull << 20) >= (5ull << 40));   // the default: beyond S3's 5 TiB object limit
  CHECK(part_size_for(1ull << 30, 10'000) == kMaxPartSize);
}

TEST_CASE("s3 URLs") {
  auto c = parse_s3_url("s3://bucket/some/prefix/?endpoint=http%3A%2F%2F127.0.0.1%3A9000&part_size=8MiB&concurrency=3");
  REQUIRE_MESSAGE(c, (c ? "" : c.error().describe()));
  CHECK(c->bucket == "bucket");
  CHECK(c->prefix == "some/prefix");
  CHECK(c->endpoint == "http://127.0.0.1:9000");
  CHECK(c->path_style);
  CHECK(c->part_size == (8u << 20));
  CHECK(c->concurrency == 3);
  auto aws = parse_s3_url("s3://bkt?region=eu-west-1");
  REQUIRE(aws);
  CHECK_FALSE(aws->path_style);
  CHECK(aws->prefix.empty());
  CHECK(parse_s3_url("s3://bkt?part_size=1MiB").error().message().find("5 MiB") != std::string::npos);
  CHECK(parse_s3_url("s3://bkt?colour=red").error().message().find("colour") != std::string::npos);
  CHECK(!parse_s3_url("s3://"));
  CHECK(open_object_store("ftp://x").error().message().find("scheme") != std::string::npos);
  CHECK(!open_object_store("file://relative"));
  CHECK(open_object_store("file:///tmp/x"));
}

TEST_CASE("credentials: directory, environment, file") {
  testing::TempDir dir;
  std::map<std::string, std::string> vars;
  GetEnv env = [&](const std::string& n) -> std::optional<std::string> {
    auto it = vars.find(n);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  CHECK(resolve_credentials("", env).error().code() == ErrorCode::kPermissionDenied);

  vars = {{"AWS_ACCESS_KEY_ID", "id"}, {"AWS_SECRET_ACCESS_KEY", "sec"}, {"AWS_SESSION_TOKEN", "tok"}};
  auto c = resolve_credentials("", env);
  REQUIRE(c);
  CHECK(c->session_token == "tok");

  auto file = dir.path / "credentials";
  std::ofstream(file) << "[default]\naws_access_key_id = d1\naws_secret_access_key=d2\n\n[other]\n"
                         "aws_access_key_id=o1\naws_secret_access_key = o2\naws_session_token=o3\n";
  vars = {{"AWS_SHARED_CREDENTIALS_FILE", file.string()}, {"AWS_PROFILE", "other"}};
  c = resolve_credentials("", env);
  REQUIRE(c);
  CHECK(c->access_key_id == "o1");
  CHECK(c->session_token == "o3");
  vars["AWS_PROFILE"] = "missing";
  CHECK(resolve_credentials("", env).error().message().find("missing") != std::string::npos);

  auto secret = dir.path / "secret";
  std::filesystem::create_directories(secret);
  std::ofstream(secret / "AWS_ACCESS_KEY_ID") << "sid\n";
  CHECK(!resolve_credentials(secret.string(), env));
  std::ofstream(secret / "AWS_SECRET_ACCESS_KEY") << "ssec\n";
  c = resolve_credentials(secret.string(), env);
  REQUIRE(c);
  CHECK(c->access_key_id == "sid");
  CHECK(c->secret_access_key == "ssec");
}

TEST_CASE("a writer id made of a node or host name is always a valid one") {
  using wscp::store::writer_id_from;
  CHECK(writer_id_from("ip-10-0-0-1.ec2.internal") == "ip-10-0-0-1.ec2.internal");
  CHECK(writer_id_from("node:1/a b") == "node-1-a-b");
  CHECK(writer_id_from(".hidden") == "-hidden");
  CHECK(writer_id_from("") == "wscp");
  CHECK(writer_id_from(std::string(100, 'n')).size() == 64);
  CHECK(writer_id_from(std::string(100, 'n') + "a") != writer_id_from(std::string(100, 'n') + "b"));
  for (const char* name : {"ip-10-0-0-1.ec2.internal", "node:1/a b", ".hidden", ""}) {
    auto c = wscp::store::parse_s3_url("s3://bucket?writer=" + writer_id_from(name));
    CHECK_MESSAGE(c.ok(), name);
  }
}
