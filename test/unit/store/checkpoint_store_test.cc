#include "store/checkpoint_store.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>

#include "store/layout.h"
#include "store/local_store.h"
#include "store/segment.h"
#include "test_util.h"

using namespace wscp;
using namespace wscp::store;
using namespace wscp::store::testing;

namespace {

EncryptionKey key_of(char fill) {
  std::array<std::uint8_t, 32> b{};
  b.fill(static_cast<std::uint8_t>(fill));
  return make_key(b);
}

CheckpointStoreOptions options(bool zstd, bool encrypt, char key = 'k') {
  CheckpointStoreOptions o;
  o.pipeline.compression.algorithm = zstd ? Compression::kZstd : Compression::kNone;
  if (encrypt) o.pipeline.encryption_key = key_of(key);
  o.pipeline.digest_part_size = 256 * 1024;
  o.pipeline.segment_size = 256 * 1024;
  o.pipeline.restore_holdback = 64 * 1024;
  return o;
}

Manifest manifest_for(const std::string& ws, const std::string& id, const ArchiveObject& a) {
  Manifest m;
  m.workspace_id = ws;
  m.checkpoint_id = id;
  m.node = "node-1";
  m.created_at = format_rfc3339(std::chrono::system_clock::now());
  m.containers.push_back(ContainerEntry{"dev", "", a, nlohmann::json{{"runtime", "crun"}}});
  return m;
}

void flip_byte(const std::filesystem::path& file, std::uint64_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x20));
}

}  // namespace

TEST_CASE("checkpoint round trip through the local store, every pipeline combination") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  auto plain = pattern(3'000'000);
  for (bool zstd : {false, true}) {
    for (bool encrypt : {false, true}) {
      CAPTURE(zstd);
      CAPTURE(encrypt);
      CheckpointStore store(*objects, options(zstd, encrypt));
      std::string id = std::string("c-") + (zstd ? "z" : "n") + (encrypt ? "e" : "p");
      StringSource src(plain);
      auto a = store.put_archive("ws1", id, "dev", src, ctx);
      REQUIRE_MESSAGE(a, (a ? "" : a.error().describe()));
      CHECK(a->plain_size == plain.size());
      CHECK(a->encryption.has_value() == encrypt);
      REQUIRE(store.write_manifest(manifest_for("ws1", id, *a), ctx));

      auto m = store.read_manifest("ws1", id, ctx);
      REQUIRE_MESSAGE(m, (m ? "" : m.error().describe()));
      auto src2 = store.open_archive(m->containers[0].archive, ctx);
      REQUIRE(src2);
      auto back = read_all(**src2);
      REQUIRE_MESSAGE(back, (back ? "" : back.error().describe()));
      CHECK(*back == plain);

      CHECK(a->segmented());
      struct stat sb {};
      REQUIRE(::stat((dir.path / segment_key(a->key, 0)).c_str(), &sb) == 0);
      CHECK((sb.st_mode & 0777) == 0600);
      REQUIRE(::stat((dir.path / a->key).c_str(), &sb) == 0);
      CHECK((sb.st_mode & 0777) == 0700);
    }
  }
  CheckpointStore store(*objects, options(true, false));
  auto listed = store.list_checkpoints("ws1");
  REQUIRE(listed);
  CHECK(listed->size() == 4);
  CHECK(listed->at(0).complete);
  REQUIRE(store.delete_checkpoint("ws1", "c-zp"));
  CHECK(store.list_checkpoints("ws1")->size() == 3);
  CHECK(store.read_manifest("ws1", "c-zp", ctx).error().code() == ErrorCode::kNotFound);
}

TEST_CASE("an altered, truncated or wrongly keyed archive never reaches the end of its restore stream") {
  for (bool segmented : {true, false}) {
  CAPTURE(segmented);
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  auto o = options(true, true);
  o.pipeline.segmented = segmented;
  CheckpointStore store(*objects, o);
  auto plain = pattern(2'000'000);
  StringSource src(plain);
  auto a = store.put_archive("ws1", "c1", "dev", src, ctx);
  REQUIRE(a);
  CHECK(a->segmented() == segmented);
  auto manifest = manifest_for("ws1", "c1", *a);
  if (!segmented) manifest.version = 1;  // as written before segments
  REQUIRE(store.write_manifest(manifest, ctx));
  // A segment in the middle, or the one object.
  auto path = dir.path / (segmented ? segment_key(a->key, 1) : a->key);

  auto restore = [&](CheckpointStore& s) -> Result<std::string> {
    auto m = s.read_manifest("ws1", "c1", ctx);
    if (!m) return m.error();
    auto r = s.open_archive(m->containers[0].archive, ctx);
    if (!r) return r.error();
    return read_all(**r);
  };
  REQUIRE(restore(store));

  CheckpointStore wrong(*objects, options(true, true, 'w'));
  CHECK(restore(wrong).error().code() == ErrorCode::kPermissionDenied);

  auto size = std::filesystem::file_size(path);
  std::filesystem::copy_file(path, dir.path / "orig");
  flip_byte(path, size / 2);
  CHECK(restore(store).error().code() == ErrorCode::kIntegrity);

  std::filesystem::copy_file(dir.path / "orig", path, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::resize_file(path, size - 100);
  CHECK(restore(store).error().code() == ErrorCode::kIntegrity);
  }
}

TEST_CASE("incomplete writes leave nothing; the manifest marks completion") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  CheckpointStore store(*objects, options(true, false));
  {
    auto w = store.create_archive("ws1", "c1", "dev", ctx);
    REQUIRE(w);
    std::string data = pattern(100'000);
    REQUIRE((*w)->write(std::as_bytes(std::span(data.data(), data.size()))));
    // Destroyed without close: aborted.
  }
  CHECK(objects->list("")->empty());
  auto listed = store.list_checkpoints("ws1");
  REQUIRE(listed);
  CHECK(listed->empty());

  StringSource src(pattern(1000));
  REQUIRE(store.put_archive("ws1", "c2", "dev", src, ctx));
  listed = store.list_checkpoints("ws1");
  REQUIRE(listed->size() == 1);
  CHECK_FALSE(listed->at(0).complete);
  CHECK(objects->sweep_incomplete(std::chrono::seconds(0)).value() == 0);
}

TEST_CASE("images are stored once and shared") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  CheckpointStore store(*objects, options(true, true));
  std::string id = "sha256:" + std::string(64, 'c');
  CHECK_FALSE(store.find_image(id).value().has_value());
  StringSource src(pattern(500'000));
  auto img = store.put_image(id, {"localhost/x:latest"}, "oci-archive", src, ctx);
  REQUIRE_MESSAGE(img, (img ? "" : img.error().describe()));
  auto found = store.find_image(id);
  REQUIRE(found);
  REQUIRE(found->has_value());
  CHECK((*found)->archive.key == img->archive.key);
  StringSource again(pattern(500'000));
  CHECK(store.put_image(id, {"localhost/x:latest"}, "oci-archive", again, ctx)->archive.key == img->archive.key);
  auto r = store.open_archive(img->archive, ctx);
  REQUIRE(r);
  CHECK(*read_all(**r) == pattern(500'000));
  CHECK(!store.find_image("sha256:../../etc"));

  // Pushed, as libpod's image export arrives.
  std::string other = "sha256:" + std::string(64, 'e');
  auto w = store.create_image(other, {"localhost/y:1"}, "oci-archive", ctx);
  REQUIRE(w);
  auto data = pattern(70'000, 4);
  REQUIRE((*w)->write(std::as_bytes(std::span(data.data(), data.size()))));
  REQUIRE((*w)->close());
  auto found_other = store.find_image(other);
  REQUIRE(found_other);
  REQUIRE(found_other->has_value());
  CHECK((*found_other)->names.at(0) == "localhost/y:1");
  CHECK((*found_other)->archive.plain_size == 70'000);
}

TEST_CASE("local store refuses unsafe keys and reports missing objects") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  CHECK(objects->create("../escape", ctx).error().code() == ErrorCode::kInvalidArgument);
  CHECK(objects->create("/abs", ctx).error().code() == ErrorCode::kInvalidArgument);
  CHECK(objects->open("nope", ctx).error().code() == ErrorCode::kNotFound);
  CHECK_FALSE(objects->head("nope").value().has_value());
  REQUIRE(put_object(*objects, "a/b", "hello", ctx));
  CHECK(objects->head("a/b").value()->size == 5);
  CHECK(get_object(*objects, "a/b", 100, ctx).value() == "hello");
  CHECK(!get_object(*objects, "a/b", 2, ctx));
  REQUIRE(objects->remove("a/b"));
  REQUIRE(objects->remove("a/b"));
  CHECK(objects->list("")->empty());
}

TEST_CASE("archives report progress and stop when cancelled") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  CheckpointStore store(*objects, options(true, false));
  OperationContext ctx;
  std::vector<Progress> seen;
  ctx.on_progress = [&](const Progress& p) { seen.push_back(p); };
  StringSource src(pattern(2'000'000));
  auto a = store.put_archive("ws1", "c1", "dev", src, ctx);
  REQUIRE(a);
  REQUIRE_FALSE(seen.empty());
  CHECK(seen.back().stage == "upload");
  CHECK(seen.back().bytes_done == 2'000'000);

  OperationContext cancelled;
  auto w = store.create_archive("ws1", "c2", "dev", cancelled);
  REQUIRE(w);
  cancelled.cancel->cancel();
  std::string data = "x";
  CHECK((*w)->write(std::as_bytes(std::span(data.data(), data.size()))).error().code() == ErrorCode::kCancelled);
  CHECK((*w)->close().error().code() == ErrorCode::kCancelled);
  w->reset();
  CHECK(store.list_checkpoints("ws1")->size() == 1);  // c2 left nothing

  REQUIRE(store.write_manifest(manifest_for("ws1", "c1", *a), ctx));
  OperationContext restore_ctx;
  auto r = store.open_archive(store.read_manifest("ws1", "c1", ctx)->containers[0].archive, restore_ctx);
  REQUIRE(r);
  restore_ctx.cancel->cancel();
  std::vector<std::byte> buf(100);
  CHECK((*r)->read(buf).error().code() == ErrorCode::kCancelled);
}

TEST_CASE("an older key of the keyring still decrypts and verifies what it wrote") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  const auto plain = pattern(700'000);
  // Written with key 'a' (then the current key).
  CheckpointStore before(*objects, options(true, true, 'a'));
  StringSource tar(plain);
  auto archive = before.put_archive("ws", "c1", "dev", tar, ctx);
  REQUIRE(archive);
  REQUIRE(before.write_manifest(manifest_for("ws", "c1", *archive), ctx));

  // The key was rotated: 'b' is current, 'a' is kept as an older key.
  auto rotated = options(true, true, 'b');
  rotated.pipeline.older_keys.push_back(key_of('a'));
  CheckpointStore after(*objects, rotated);
  auto m = after.read_manifest("ws", "c1", ctx);
  REQUIRE_MESSAGE(m, (m ? "" : m.error().describe()));
  auto src = after.open_archive(m->containers[0].archive, ctx);
  REQUIRE(src);
  auto back = read_all(**src);
  REQUIRE(back);
  CHECK(*back == plain);
  // New archives use the current key.
  StringSource tar2(plain);
  auto fresh = after.put_archive("ws", "c2", "dev", tar2, ctx);
  REQUIRE(fresh);
  CHECK(fresh->encryption->key_id == key_of('b').id);

  // Without the older key, the old checkpoint is refused, naming the keys.
  CheckpointStore only_new(*objects, options(true, true, 'b'));
  auto refused = only_new.read_manifest("ws", "c1", ctx);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == ErrorCode::kPermissionDenied);
  CHECK(refused.error().message().find(key_of('a').id) != std::string::npos);
  auto refused_archive = only_new.open_archive(m->containers[0].archive, ctx);
  REQUIRE_FALSE(refused_archive);
  CHECK(refused_archive.error().code() == ErrorCode::kPermissionDenied);
}
