#include "store/named_archives.h"

#include <doctest/doctest.h>

#include <fstream>
#include <functional>

#include "store/local_store.h"
#include "test_util.h"

using namespace wscp;
using namespace wscp::store;
using namespace wscp::store::testing;

namespace {

CheckpointStoreOptions options(bool encrypt, char key = 'k') {
  CheckpointStoreOptions o;
  o.pipeline.compression.algorithm = Compression::kZstd;
  o.pipeline.restore_holdback = 4096;
  if (encrypt) {
    std::array<std::uint8_t, 32> b{};
    b.fill(static_cast<std::uint8_t>(key));
    o.pipeline.encryption_key = make_key(b);
  }
  return o;
}

Status put(NamedArchives& spool, const std::string& name, const std::string& data, const OperationContext& ctx) {
  auto sink = spool.create(name, ctx);
  if (!sink) return sink.error();
  auto st = (*sink)->write(std::as_bytes(std::span(data.data(), data.size())));
  if (!st) return st;
  return (*sink)->close();
}

Result<std::string> get(NamedArchives& spool, const std::string& name, const OperationContext& ctx) {
  auto src = spool.open(name, ctx);
  if (!src) return src.error();
  return read_all(**src);
}

}  // namespace

TEST_CASE("named archives round trip and are verified") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  for (bool encrypt : {false, true}) {
    CAPTURE(encrypt);
    NamedArchives spool(*objects, options(encrypt), encrypt ? "enc" : "plain");
    auto data = pattern(300'000);
    CHECK_FALSE(spool.exists("containers/web.tar").value());
    REQUIRE(put(spool, "containers/web.tar", data, ctx));
    CHECK(spool.exists("containers/web.tar").value());
    auto back = get(spool, "containers/web.tar", ctx);
    REQUIRE_MESSAGE(back, (back ? "" : back.error().describe()));
    CHECK(*back == data);
    CHECK(spool.describe("containers/web.tar").find("containers/web.tar") != std::string::npos);

    // An unfinished rewrite leaves the name absent, never half-written.
    {
      auto sink = spool.create("containers/web.tar", ctx);
      REQUIRE(sink);
    }
    CHECK_FALSE(spool.exists("containers/web.tar").value());
    CHECK(get(spool, "containers/web.tar", ctx).error().code() == ErrorCode::kNotFound);
  }
}

TEST_CASE("named archives refuse altered data, altered descriptions and wrong keys") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  NamedArchives spool(*objects, options(true), "s");
  auto data = pattern(200'000);
  REQUIRE(put(spool, "images/x.oci.tar", data, ctx));

  NamedArchives wrong(*objects, options(true, 'w'), "s");
  CHECK(get(wrong, "images/x.oci.tar", ctx).error().code() == ErrorCode::kPermissionDenied);
  NamedArchives keyless(*objects, options(false), "s");
  CHECK(get(keyless, "images/x.oci.tar", ctx).error().code() == ErrorCode::kPermissionDenied);

  auto meta = dir.path / "s/images/x.oci.tar.meta.json";
  std::string text;
  {
    std::ifstream in(meta);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto j = nlohmann::json::parse(text);
  j["body"]["archive"]["plain_size"] = 1;
  std::ofstream(meta) << j.dump();
  CHECK(get(spool, "images/x.oci.tar", ctx).error().code() == ErrorCode::kIntegrity);

  CHECK(!spool.create("../escape", ctx));
  CHECK(!spool.create("a.meta.json", ctx));
}

TEST_CASE("a description read back is validated field by field before it is used") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  NamedArchives spool(*objects, options(false), "s");
  REQUIRE(put(spool, "containers/web.tar", pattern(50'000), ctx));
  auto meta = dir.path / "s/containers/web.tar.meta.json";
  std::string text;
  {
    std::ifstream in(meta);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto original = nlohmann::json::parse(text);
  auto refused = [&](const std::function<void(nlohmann::json&)>& edit) {
    auto j = original;
    edit(j);
    std::ofstream(meta) << j.dump();
    auto d = spool.describe_archive("containers/web.tar", ctx);
    if (d) return false;
    INFO(d.error().describe());
    CHECK(d.error().code() == ErrorCode::kIntegrity);
    return true;
  };
  CHECK(refused([](auto& j) { j["body"]["archive"]["stored"]["sha256"] = "not a digest"; }));
  CHECK(refused([](auto& j) { j["body"]["archive"]["plain_sha256"] = std::string(64, 'Z'); }));
  CHECK(refused([](auto& j) { j["body"]["archive"]["stored"]["parts"] = nlohmann::json::array(); }));
  CHECK(refused([](auto& j) { j["body"]["archive"]["encryption"] = {{"algorithm", "rot13"}, {"key_id", "k"}}; }));
  CHECK(refused([](auto& j) { j["body"]["archive"]["plain_size"] = -1; }));
  CHECK(refused([](auto& j) { j["body"]["archive"]["compression_level"] = "high"; }));
  CHECK(refused([](auto& j) { j["body"] = "text"; }));
  // The untouched description still works.
  std::ofstream(meta) << original.dump();
  CHECK(spool.describe_archive("containers/web.tar", ctx));
}
