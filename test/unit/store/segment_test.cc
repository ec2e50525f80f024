// Segmented archives: the segment trailer, the writer, the manifest-driven
// reader and the following reader, on the local store.
#include "store/segment.h"

#include <doctest/doctest.h>
#include <malloc.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "store/checkpoint_store.h"
#include "store/layout.h"
#include "store/local_store.h"
#include "store/segment_reader.h"
#include "store/segment_writer.h"
#include "test_util.h"

using namespace wscp;
using namespace wscp::store;
using namespace wscp::store::testing;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kSegment = 64 * 1024;

EncryptionKey key_of(char fill) {
  std::array<std::uint8_t, 32> b{};
  b.fill(static_cast<std::uint8_t>(fill));
  return make_key(b);
}

// zstd and encryption on or off; a key (the encryption key, else a manifest
// key) authenticates trailers unless `keyless`.
CheckpointStoreOptions options(bool zstd, bool encrypt, char key = 'k', bool keyless = false) {
  CheckpointStoreOptions o;
  o.pipeline.compression.algorithm = zstd ? Compression::kZstd : Compression::kNone;
  if (encrypt) o.pipeline.encryption_key = key_of(key);
  if (!encrypt && !keyless) o.manifest_key = key_of(key);
  o.pipeline.segment_size = kSegment;
  o.pipeline.restore_holdback = 16 * 1024;
  return o;
}

Manifest manifest_for(const std::string& ws, const std::string& id, const ArchiveObject& a) {
  Manifest m;
  m.workspace_id = ws;
  m.checkpoint_id = id;
  m.node = "node-1";
  m.created_at = format_rfc3339(std::chrono::system_clock::now());
  m.containers.push_back(ContainerEntry{"dev", "", a, nlohmann::json::object()});
  return m;
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << data;
}

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

// Reads to the end or the first error, counting what was released.
struct Drained {
  std::string data;
  std::optional<Error> error;
};
Drained drain(ByteSource& src) {
  Drained d;
  std::vector<std::byte> buf(50'000);
  for (;;) {
    auto n = src.read(buf);
    if (!n) {
      d.error = n.error();
      return d;
    }
    if (*n == 0) return d;
    d.data.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
}

FollowOptions quick_follow(std::chrono::milliseconds timeout = std::chrono::milliseconds(400)) {
  FollowOptions f;
  f.poll_interval = std::chrono::milliseconds(5);
  f.timeout = timeout;
  return f;
}

SegmentTrailer sample_trailer(const std::string& data, bool last) {
  SegmentTrailer t;
  t.archive = "workspaces/ws/checkpoints/c1/dev.tar";
  t.upload = std::string(32, 'b');
  t.index = last ? 2 : 1;
  t.segment_size = last ? 1000 : data.size();
  t.size = data.size();
  t.sha256 = sha256_hex(data);
  t.last = last;
  if (last) t.totals = SegmentTotals{3, 2000 + data.size(), std::string(64, 'c'), 5000, std::string(64, 'd')};
  return t;
}

// A local store whose segment commits and reads can be slowed down or made
// to fail, and which records what happened, from any thread.
class ScriptedStore : public ObjectStore {
 public:
  explicit ScriptedStore(ObjectStore& inner) : inner_(inner) {}

  // The create() of this segment index fails, or its writer's close() does
  // (by index, not by call order: segments are committed concurrently).
  std::optional<std::uint64_t> fail_create;
  std::optional<std::uint64_t> fail_close;
  // Delays of a segment's close() and open(), by segment index.
  std::function<std::chrono::milliseconds(std::uint64_t)> close_delay;
  std::function<std::chrono::milliseconds(std::uint64_t)> open_delay;
  // open() of this segment index fails with kUnavailable.
  std::optional<std::uint64_t> fail_open;

  struct Log {
    std::vector<std::string> committed;  // keys in the order their close() succeeded
    std::size_t closing = 0, peak_closing = 0;
    std::size_t writers = 0, peak_writers = 0;  // made and not yet destroyed
    std::size_t opening = 0, peak_opening = 0;  // open() and reading, not yet destroyed
    // When each segment's close() began: the segments committed by then.
    std::vector<std::pair<std::string, std::size_t>> close_began;
  };
  Log log() const {
    std::lock_guard lock(mu_);
    return log_;
  }

  static std::optional<std::uint64_t> index_of(const std::string& key) {
    if (key.size() < 7 || key[key.size() - 7] != '/') return std::nullopt;
    for (std::size_t i = key.size() - 6; i < key.size(); ++i) {
      if (key[i] < '0' || key[i] > '9') return std::nullopt;
    }
    return std::stoull(key.substr(key.size() - 6));
  }

  Result<std::unique_ptr<ByteSink>> create(const std::string& key, const OperationContext& ctx) override {
    const auto index = index_of(key);
    if (index && fail_create == index) return Error(ErrorCode::kUnavailable, "injected: cannot create " + key);
    auto inner = inner_.create(key, ctx);
    if (!inner) return inner.error();
    std::lock_guard lock(mu_);
    log_.peak_writers = std::max(log_.peak_writers, ++log_.writers);
    return std::unique_ptr<ByteSink>(std::make_unique<Sink>(*this, key, std::move(*inner), index && fail_close == index));
  }
  Result<std::unique_ptr<ByteSource>> open(const std::string& key, const OperationContext& ctx) override {
    const auto index = index_of(key);
    if (index && fail_open == index) return Error(ErrorCode::kUnavailable, "injected: cannot read " + key);
    {
      std::lock_guard lock(mu_);
      log_.peak_opening = std::max(log_.peak_opening, ++log_.opening);
    }
    if (index && open_delay) std::this_thread::sleep_for(open_delay(*index));
    auto inner = inner_.open(key, ctx);
    if (!inner) {
      std::lock_guard lock(mu_);
      --log_.opening;
      return inner.error();
    }
    return std::unique_ptr<ByteSource>(std::make_unique<Source>(*this, std::move(*inner)));
  }
  Result<std::optional<ObjectInfo>> head(const std::string& key) override { return inner_.head(key); }
  Result<std::vector<ObjectInfo>> list(const std::string& prefix) override { return inner_.list(prefix); }
  Status remove(const std::string& key) override { return inner_.remove(key); }
  Result<std::size_t> sweep_incomplete(std::chrono::seconds older_than) override {
    return inner_.sweep_incomplete(older_than);
  }
  bool shared() const override { return inner_.shared(); }
  std::string describe() const override { return "scripted " + inner_.describe(); }

 private:
  class Sink : public ByteSink {
   public:
    Sink(ScriptedStore& store, std::string key, std::unique_ptr<ByteSink> inner, bool fail)
        : store_(store), key_(std::move(key)), inner_(std::move(inner)), fail_(fail) {}
    ~Sink() override {
      inner_.reset();
      std::lock_guard lock(store_.mu_);
      --store_.log_.writers;
    }
    Status write(std::span<const std::byte> data) override { return inner_->write(data); }
    Status close() override {
      {
        std::lock_guard lock(store_.mu_);
        store_.log_.peak_closing = std::max(store_.log_.peak_closing, ++store_.log_.closing);
        store_.log_.close_began.emplace_back(key_, store_.log_.committed.size());
      }
      const auto index = index_of(key_);
      if (index && store_.close_delay) std::this_thread::sleep_for(store_.close_delay(*index));
      Status st = fail_ ? Status(Error(ErrorCode::kUnavailable, "injected: the server dropped " + key_))
                        : inner_->close();
      std::lock_guard lock(store_.mu_);
      --store_.log_.closing;
      if (st) store_.log_.committed.push_back(key_);
      return st;
    }

   private:
    ScriptedStore& store_;
    std::string key_;
    std::unique_ptr<ByteSink> inner_;
    bool fail_;
  };
  class Source : public ByteSource {
   public:
    Source(ScriptedStore& store, std::unique_ptr<ByteSource> inner) : store_(store), inner_(std::move(inner)) {}
    ~Source() override {
      std::lock_guard lock(store_.mu_);
      --store_.log_.opening;
    }
    Result<std::size_t> read(std::span<std::byte> buffer) override { return inner_->read(buffer); }

   private:
    ScriptedStore& store_;
    std::unique_ptr<ByteSource> inner_;
  };

  ObjectStore& inner_;
  mutable std::mutex mu_;
  Log log_;
};

}  // namespace

TEST_CASE("a segment trailer binds its data and fields, with and without a key") {
  const std::string data = pattern(1000);
  auto key = key_of('t');
  const Keyring ring({key});
  for (bool last : {false, true}) {
    CAPTURE(last);
    const std::string object = data + seal_segment_trailer(sample_trailer(data, last), &key);
    auto parsed = parse_segment(bytes(object), ring, "segment");
    REQUIRE_MESSAGE(parsed, (parsed ? "" : parsed.error().describe()));
    CHECK(parsed->data_size == data.size());
    CHECK(parsed->trailer.last == last);
    CHECK(parsed->trailer.totals.has_value() == last);
    // Without the key: refused as unverifiable; with another key: named.
    CHECK(parse_segment(bytes(object), Keyring(), "segment").error().code() == ErrorCode::kPermissionDenied);
    auto other = parse_segment(bytes(object), Keyring({key_of('o')}), "segment");
    CHECK(other.error().code() == ErrorCode::kPermissionDenied);
    CHECK(other.error().message().find(key.id) != std::string::npos);

    // Unauthenticated trailers are accepted only without keys.
    const std::string bare = data + seal_segment_trailer(sample_trailer(data, last), nullptr);
    CHECK(parse_segment(bytes(bare), Keyring(), "segment"));
    CHECK(parse_segment(bytes(bare), ring, "segment").error().code() == ErrorCode::kIntegrity);

    // Any flipped data byte fails the digest; a changed field fails the MAC.
    std::string flipped = object;
    flipped[17] ^= 1;
    auto e = parse_segment(bytes(flipped), ring, "segment 7 of x");
    CHECK(e.error().code() == ErrorCode::kIntegrity);
    CHECK(e.error().message().find("segment 7 of x") != std::string::npos);
    std::string relabelled = object;
    auto pos = relabelled.find("\"index\":");
    REQUIRE(pos != std::string::npos);
    relabelled[pos + 8] = relabelled[pos + 8] == '1' ? '4' : '1';
    CHECK(parse_segment(bytes(relabelled), ring, "segment").error().code() == ErrorCode::kIntegrity);
  }
  // Hostile shapes.
  CHECK(parse_segment(bytes(""), ring, "s").error().code() == ErrorCode::kIntegrity);
  CHECK(parse_segment(bytes("WSCPSEG1"), ring, "s").error().code() == ErrorCode::kIntegrity);
  CHECK(parse_segment(bytes(std::string("\xff\xff\xff\xff") + "WSCPSEG1"), ring, "s").error().code() ==
        ErrorCode::kIntegrity);
  CHECK(parse_segment(bytes(std::string("[1]") + std::string("\0\0\0\3", 4) + "WSCPSEG1"), Keyring(), "s")
            .error()
            .code() == ErrorCode::kIntegrity);
  // A non-last segment shorter than the segment size, or a last one without totals.
  auto t = sample_trailer(data, false);
  t.segment_size = 2000;
  CHECK(!parse_segment(bytes(data + seal_segment_trailer(t, nullptr)), Keyring(), "s"));
  t = sample_trailer(data, true);
  t.totals.reset();
  CHECK(!parse_segment(bytes(data + seal_segment_trailer(t, nullptr)), Keyring(), "s"));
  t = sample_trailer(data, true);
  t.totals->segments = 9;
  CHECK(!parse_segment(bytes(data + seal_segment_trailer(t, nullptr)), Keyring(), "s"));
}

TEST_CASE("the segment trailer parser survives mutated input") {
  const std::string data = pattern(300);
  auto key = key_of('t');
  const Keyring ring({key});
  const std::string seeds[] = {data + seal_segment_trailer(sample_trailer(data, true), &key),
                               data + seal_segment_trailer(sample_trailer(data, false), nullptr)};
  const std::string alphabet = "{}[]\":,0123456789-.eE/\\ntruefalsnulWSCPG \t\x01\xff";
  std::mt19937 rng(4242);
  int accepted_signed = 0;
  for (int round = 0; round < 4000; ++round) {
    const bool with_key = round % 2 == 0;
    std::string text = seeds[with_key ? 0 : 1];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      std::size_t pos = rng() % (text.size() + 1);
      switch (rng() % 5) {
        case 0:
          if (pos < text.size()) text[pos] = alphabet[rng() % alphabet.size()];
          break;
        case 1: text.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
        case 2:
          if (pos < text.size()) text.erase(pos, 1 + rng() % 8);
          break;
        case 3: text = text.substr(pos); break;
        default: text = text.substr(0, pos); break;
      }
    }
    auto p = parse_segment(bytes(text), with_key ? ring : Keyring(), "segment");
    if (p) {
      CHECK(p->data_size <= text.size());
      CHECK(p->trailer.size == p->data_size);
      CHECK(sha256_hex(std::string_view(text.data(), p->data_size)) == p->trailer.sha256);
      if (with_key) ++accepted_signed;
    } else {
      CHECK_FALSE(p.error().message().empty());
    }
  }
  CHECK(accepted_signed < 200);
}

TEST_CASE("segmented round trip: every pipeline combination, empty and exact multiples") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  int n = 0;
  for (bool zstd : {false, true}) {
    for (bool encrypt : {false, true}) {
      for (std::uint64_t size : {std::uint64_t{0}, 3 * kSegment, std::uint64_t{1'000'000}}) {
        CAPTURE(zstd);
        CAPTURE(encrypt);
        CAPTURE(size);
        CheckpointStore store(*objects, options(zstd, encrypt));
        const std::string id = "c" + std::to_string(n++);
        const std::string plain = pattern(size, static_cast<std::uint32_t>(n));
        StringSource src(plain);
        auto a = store.put_archive("ws", id, "dev", src, ctx);
        REQUIRE_MESSAGE(a, (a ? "" : a.error().describe()));
        REQUIRE(a->segmented());
        CHECK(a->segment_size == kSegment);
        CHECK(a->stored.parts.size() == a->segments);
        auto listed = objects->list(a->key + "/");
        REQUIRE(listed);
        CHECK(listed->size() == a->segments);
        CHECK(listed->back().key == segment_key(a->key, a->segments - 1));
        CHECK_FALSE(objects->head(a->key).value().has_value());  // no single object
        if (!zstd && !encrypt) {
          // Exact multiples of the segment size give no empty extra segment.
          CHECK(a->segments == std::max<std::uint64_t>(1, (size + kSegment - 1) / kSegment));
        }
        auto m = manifest_for("ws", id, *a);
        REQUIRE(store.write_manifest(m, ctx));
        auto text = get_object(*objects, layout::manifest_key("ws", id), 1 << 20, ctx);
        REQUIRE(text);
        CHECK(nlohmann::json::parse(*text).at("version") == 2);
        auto back = store.read_manifest("ws", id, ctx);
        REQUIRE_MESSAGE(back, (back ? "" : back.error().describe()));
        CHECK(back->containers[0].archive.upload == a->upload);
        auto r = store.open_archive(back->containers[0].archive, ctx);
        REQUIRE(r);
        auto got = read_all(**r);
        REQUIRE_MESSAGE(got, (got ? "" : got.error().describe()));
        CHECK(*got == plain);
        // The same archive, followed without its manifest.
        auto f = store.follow_archive("ws", id, "dev", quick_follow(), ctx);
        REQUIRE_MESSAGE(f, (f ? "" : f.error().describe()));
        auto followed = read_all(**f);
        REQUIRE_MESSAGE(followed, (followed ? "" : followed.error().describe()));
        CHECK(*followed == plain);
      }
    }
  }
  // Deleting a checkpoint removes its segments.
  CheckpointStore store(*objects, options(true, true));
  REQUIRE(store.delete_checkpoint("ws", "c4"));
  CHECK(objects->list(layout::checkpoint_prefix("ws", "c4"))->empty());
  auto listing = store.list_checkpoints("ws");
  REQUIRE(listing);
  CHECK(listing->size() == static_cast<std::size_t>(n - 1));
}

TEST_CASE("a version-1 checkpoint (one object per archive) is still read") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  auto o = options(true, true);
  o.pipeline.segmented = false;  // as wscp wrote archives before segments
  CheckpointStore old_writer(*objects, o);
  const std::string plain = pattern(500'000);
  StringSource src(plain);
  auto a = old_writer.put_archive("ws", "v1", "dev", src, ctx);
  REQUIRE(a);
  CHECK_FALSE(a->segmented());
  CHECK(objects->head(a->key).value().has_value());
  auto m = manifest_for("ws", "v1", *a);
  m.version = 1;
  REQUIRE(old_writer.write_manifest(m, ctx));
  auto text = *get_object(*objects, layout::manifest_key("ws", "v1"), 1 << 20, ctx);
  auto j = nlohmann::json::parse(text);
  CHECK(j.at("version") == 1);
  CHECK_FALSE(j["containers"][0]["archive"].contains("segments"));

  CheckpointStore reader(*objects, options(true, true));  // today's defaults
  auto back = reader.read_manifest("ws", "v1", ctx);
  REQUIRE_MESSAGE(back, (back ? "" : back.error().describe()));
  CHECK(back->version == 1);
  auto r = reader.open_archive(back->containers[0].archive, ctx);
  REQUIRE(r);
  CHECK(*read_all(**r) == plain);

  // A version-1 manifest cannot name segments.
  StringSource src2(plain);
  auto seg = reader.put_archive("ws", "v1b", "dev", src2, ctx);
  REQUIRE(seg);
  auto bad = manifest_for("ws", "v1b", *seg);
  bad.version = 1;
  CHECK(reader.write_manifest(bad, ctx).error().message().find("version 1") != std::string::npos);
}

TEST_CASE("a follower reads an archive while it is being written") {
  for (bool encrypt : {false, true}) {
    CAPTURE(encrypt);
    TempDir dir;
    auto objects = make_local_store(dir.path.string());
    CheckpointStore store(*objects, options(false, encrypt));
    const std::string plain = pattern(40 * kSegment, 9);
    std::promise<void> follower_has_data;
    auto has_data = follower_has_data.get_future();
    std::atomic<bool> writer_closed{false};
    std::atomic<bool> waited_for_follower{false};

    std::thread writer([&] {
      OperationContext wctx;
      auto w = store.create_archive("ws", "c1", "dev", wctx);
      if (!w) return;
      const std::size_t half = plain.size() / 2;
      for (std::size_t off = 0; off < half; off += 10'000) {
        (void)(*w)->write(bytes(plain.substr(off, std::min<std::size_t>(10'000, half - off))));
      }
      // Hold the rest back until the follower has released bytes.
      waited_for_follower = has_data.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
      for (std::size_t off = half; off < plain.size(); off += 10'000) {
        (void)(*w)->write(bytes(plain.substr(off, 10'000)));
        std::this_thread::sleep_for(std::chrono::microseconds(200));  // paced like a dump
      }
      writer_closed = (*w)->close().ok();
    });

    OperationContext ctx;
    auto f = store.follow_archive("ws", "c1", "dev", quick_follow(std::chrono::seconds(30)), ctx);
    std::string got;
    std::optional<Error> failed;
    bool got_before_close = false;
    std::vector<std::byte> buf(30'000);
    if (!f) failed = f.error();
    while (f) {
      auto n = (*f)->read(buf);
      if (!n) {
        failed = n.error();
        break;
      }
      if (*n == 0) break;
      if (got.empty()) {
        got_before_close = !writer_closed;
        follower_has_data.set_value();
      }
      got.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
    if (got.empty()) follower_has_data.set_value();
    writer.join();
    CHECK_MESSAGE(!failed, (failed ? failed->describe() : ""));
    CHECK(waited_for_follower);
    CHECK(got_before_close);
    CHECK(writer_closed);
    CHECK(got == plain);
  }
}

TEST_CASE("a follower's gate sees the writing it read, and the archive's tail waits for it") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  CheckpointStore store(*objects, options(true, true));
  const std::string plain = pattern(20 * kSegment, 4);
  StringSource src(plain);
  auto written = store.put_archive("ws", "c1", "dev", src, ctx);
  REQUIRE(written);

  SUBCASE("a gate that passes: the whole archive, after the gate named this writing") {
    std::optional<FollowedWriting> seen;
    std::size_t released_before_gate = 0, released = 0;
    auto f = store.follow_archive("ws", "c1", "dev", quick_follow(std::chrono::seconds(5)), ctx,
                                  [&](const FollowedWriting& w) -> Status {
                                    seen = w;
                                    released_before_gate = released;
                                    return Ok{};
                                  });
    REQUIRE(f);
    std::string got;
    std::vector<std::byte> buf(30'000);
    for (;;) {
      auto n = (*f)->read(buf);
      REQUIRE_MESSAGE(n, (n ? "" : n.error().describe()));
      if (*n == 0) break;
      got.append(reinterpret_cast<const char*>(buf.data()), *n);
      released = got.size();
    }
    CHECK(got == plain);
    REQUIRE(seen.has_value());
    CHECK(seen->archive_key == written->key);
    CHECK(seen->upload == written->upload);
    CHECK(seen->totals.plain_sha256 == written->plain_sha256);
    CHECK(seen->totals.plain_size == written->plain_size);
    CHECK(seen->totals.stored_sha256 == written->stored.sha256);
    CHECK(seen->totals.segments == written->segments);
    // The tail (the holdback, or all of it when shorter) came after the gate.
    CHECK(plain.size() - released_before_gate >=
          std::min(plain.size(), store.options().pipeline.restore_holdback));
  }
  SUBCASE("a gate that refuses: the stream fails and the tail is never released") {
    auto f = store.follow_archive("ws", "c1", "dev", quick_follow(std::chrono::seconds(5)), ctx,
                                  [](const FollowedWriting&) -> Status {
                                    return Error(ErrorCode::kIntegrity, "the manifest names another writing");
                                  });
    REQUIRE(f);
    std::size_t got = 0;
    std::optional<Error> failed;
    std::vector<std::byte> buf(30'000);
    for (;;) {
      auto n = (*f)->read(buf);
      if (!n) {
        failed = n.error();
        break;
      }
      if (*n == 0) break;
      got += *n;
    }
    REQUIRE(failed.has_value());
    CHECK(failed->code() == ErrorCode::kIntegrity);
    CHECK(failed->message().find("another writing") != std::string::npos);
    CHECK(plain.size() - got >= std::min(plain.size(), store.options().pipeline.restore_holdback));
  }
}

TEST_CASE("a flipped byte in a segment is an integrity error naming it, and the body is never complete") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  CheckpointStore store(*objects, options(true, true));
  const std::string plain = pattern(1'500'000);
  StringSource src(plain);
  auto a = store.put_archive("ws", "c1", "dev", src, ctx);
  REQUIRE(a);
  REQUIRE(a->segments >= 4);
  REQUIRE(store.write_manifest(manifest_for("ws", "c1", *a), ctx));
  const auto last = segment_key(a->key, a->segments - 1);
  for (std::string victim : {segment_key(a->key, 2), last}) {
    CAPTURE(victim);
    const auto path = dir.path / victim;
    const std::string original = read_file(path);
    std::string altered = original;
    altered[altered.size() / 3] ^= 0x01;
    write_file(path, altered);
    const std::string index = victim.substr(victim.size() - 6);
    auto m = store.read_manifest("ws", "c1", ctx);
    REQUIRE(m);
    auto r = store.open_archive(m->containers[0].archive, ctx);
    REQUIRE(r);
    auto d = drain(**r);
    REQUIRE(d.error);
    CHECK(d.error->code() == ErrorCode::kIntegrity);
    CHECK(d.error->message().find("segment " + std::to_string(std::stoi(index))) != std::string::npos);
    CHECK(d.data.size() < plain.size());
    CHECK(plain.compare(0, d.data.size(), d.data) == 0);  // what came before was good

    auto f = store.follow_archive("ws", "c1", "dev", quick_follow(), ctx);
    REQUIRE(f);
    auto fd = drain(**f);
    REQUIRE(fd.error);
    CHECK(fd.error->code() == ErrorCode::kIntegrity);
    CHECK(fd.data.size() < plain.size());
    write_file(path, original);
  }
}

TEST_CASE("segments moved between archives, checkpoints or writings are refused") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  for (bool keyless : {false, true}) {
    CAPTURE(keyless);
    CheckpointStore store(*objects, options(false, false, 'k', keyless));
    const std::string ws = keyless ? "open" : "keyed";
    const std::string plain = pattern(400'000, 3);
    StringSource s1(plain), s2(plain), s3(plain);
    auto a = store.put_archive(ws, "c1", "dev", s1, ctx);
    auto b = store.put_archive(ws, "c2", "dev", s2, ctx);  // the same bytes, another checkpoint
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(store.write_manifest(manifest_for(ws, "c1", *a), ctx));
    auto restore = [&]() {
      auto m = store.read_manifest(ws, "c1", ctx);
      REQUIRE(m);
      auto r = store.open_archive(m->containers[0].archive, ctx);
      REQUIRE(r);
      return drain(**r);
    };
    auto follow = [&]() {
      auto f = store.follow_archive(ws, "c1", "dev", quick_follow(), ctx);
      REQUIRE(f);
      return drain(**f);
    };
    REQUIRE_FALSE(restore().error);
    const auto target = dir.path / segment_key(a->key, 1);
    const std::string original = read_file(target);
    // Another checkpoint's segment 1 (same data, same index).
    fs::copy_file(dir.path / segment_key(b->key, 1), target, fs::copy_options::overwrite_existing);
    auto d = restore();
    REQUIRE(d.error);
    CHECK(d.error->code() == ErrorCode::kIntegrity);
    CHECK(d.error->message().find("belongs to archive") != std::string::npos);
    CHECK(follow().error->code() == ErrorCode::kIntegrity);
    // The archive's own segment 2 in place of 1.
    fs::copy_file(dir.path / segment_key(a->key, 2), target, fs::copy_options::overwrite_existing);
    CHECK(restore().error->message().find("is segment 2") != std::string::npos);
    write_file(target, original);
    REQUIRE_FALSE(restore().error);

    // The same checkpoint written again (a retried phase): its segments do
    // not mix with the first writing's.
    const std::string first_writing = read_file(target);
    auto again = store.put_archive(ws, "c1", "dev", s3, ctx);
    REQUIRE(again);
    CHECK(again->upload != a->upload);
    write_file(dir.path / segment_key(a->key, 1), first_writing);
    REQUIRE(store.write_manifest(manifest_for(ws, "c1", *again), ctx));
    d = restore();
    REQUIRE(d.error);
    CHECK(d.error->message().find("another writing") != std::string::npos);
    CHECK(follow().error->message().find("another writing") != std::string::npos);
  }
}

TEST_CASE("a truncated archive: the follower gives up clearly, the verified reader fails") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  CheckpointStore store(*objects, options(true, true));
  const std::string plain = pattern(800'000);
  StringSource src(plain);
  auto a = store.put_archive("ws", "c1", "dev", src, ctx);
  REQUIRE(a);
  REQUIRE(store.write_manifest(manifest_for("ws", "c1", *a), ctx));
  REQUIRE(objects->remove(segment_key(a->key, a->segments - 1)));

  auto m = store.read_manifest("ws", "c1", ctx);
  REQUIRE(m);
  auto r = store.open_archive(m->containers[0].archive, ctx);
  REQUIRE(r);
  auto d = drain(**r);
  REQUIRE(d.error);
  CHECK(d.error->code() == ErrorCode::kIntegrity);
  CHECK(d.error->message().find("missing") != std::string::npos);
  CHECK(d.data.size() < plain.size());

  const auto start = std::chrono::steady_clock::now();
  auto f = store.follow_archive("ws", "c1", "dev", quick_follow(std::chrono::milliseconds(300)), ctx);
  REQUIRE(f);
  auto fd = drain(**f);
  REQUIRE(fd.error);
  CHECK(fd.error->code() == ErrorCode::kDeadlineExceeded);
  CHECK(fd.error->message().find("segment " + std::to_string(a->segments - 1)) != std::string::npos);
  CHECK(fd.error->message().find("did not appear") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(300));
  CHECK(fd.data.size() < plain.size());

  // Nothing there at all: the follower waits for segment 0, then gives up;
  // cancelled, it stops at once.
  auto none = store.follow_archive("ws", "nothing", "dev", quick_follow(std::chrono::milliseconds(100)), ctx);
  REQUIRE_FALSE(none);
  CHECK(none.error().code() == ErrorCode::kDeadlineExceeded);
  OperationContext cancelled;
  cancelled.cancel->cancel();
  auto stopped = store.follow_archive("ws", "nothing", "dev", quick_follow(std::chrono::seconds(60)), cancelled);
  REQUIRE_FALSE(stopped);
  CHECK(stopped.error().code() == ErrorCode::kCancelled);
}

TEST_CASE("segments and keys: a wrong key is refused, an older key of the ring still reads") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  for (bool encrypt : {false, true}) {
    CAPTURE(encrypt);
    const std::string ws = encrypt ? "enc" : "mac";
    CheckpointStore before(*objects, options(true, encrypt, 'a'));
    const std::string plain = pattern(300'000);
    StringSource src(plain);
    auto a = before.put_archive(ws, "c1", "dev", src, ctx);
    REQUIRE(a);
    REQUIRE(before.write_manifest(manifest_for(ws, "c1", *a), ctx));

    CheckpointStore wrong(*objects, options(true, encrypt, 'w'));
    auto f = wrong.follow_archive(ws, "c1", "dev", quick_follow(), ctx);
    REQUIRE_FALSE(f);
    CHECK(f.error().code() == ErrorCode::kPermissionDenied);
    CHECK(f.error().message().find(key_of('a').id) != std::string::npos);
    // The manifest-driven reader with the manifest (trusted here) but a
    // ring without the writer's key refuses the trailers too.
    auto o = wrong.open_archive(*a, ctx);
    if (o) {
      auto d = drain(**o);
      REQUIRE(d.error);
      CHECK(d.error->code() == ErrorCode::kPermissionDenied);
    } else {
      CHECK(o.error().code() == ErrorCode::kPermissionDenied);
    }
    // No key at all: an authenticated trailer is not silently trusted.
    CheckpointStore keyless(*objects, options(true, false, 'a', true));
    if (!encrypt) {
      auto k = keyless.follow_archive(ws, "c1", "dev", quick_follow(), ctx);
      REQUIRE_FALSE(k);
      CHECK(k.error().code() == ErrorCode::kPermissionDenied);
    }

    auto rotated = options(true, encrypt, 'b');
    rotated.pipeline.older_keys.push_back(key_of('a'));  // older MAC keys live in the same ring
    CheckpointStore after(*objects, rotated);
    auto g = after.follow_archive(ws, "c1", "dev", quick_follow(), ctx);
    REQUIRE_MESSAGE(g, (g ? "" : g.error().describe()));
    CHECK(*read_all(**g) == plain);
    auto m = after.read_manifest(ws, "c1", ctx);
    REQUIRE(m);
    auto r = after.open_archive(m->containers[0].archive, ctx);
    REQUIRE(r);
    CHECK(*read_all(**r) == plain);
  }
}

TEST_CASE("an unauthenticated segment is refused where a key is configured") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  CheckpointStore keyless(*objects, options(false, false, 'k', true));
  const std::string plain = pattern(200'000);
  StringSource src(plain);
  auto a = keyless.put_archive("ws", "c1", "dev", src, ctx);
  REQUIRE(a);
  CheckpointStore keyed(*objects, options(false, false, 'k'));
  auto f = keyed.follow_archive("ws", "c1", "dev", quick_follow(), ctx);
  REQUIRE_FALSE(f);
  CHECK(f.error().code() == ErrorCode::kIntegrity);
  CHECK(f.error().message().find("not authenticated") != std::string::npos);
}

TEST_CASE("an abandoned segmented writer leaves no segment behind") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  CheckpointStore store(*objects, options(false, true));
  {
    auto w = store.create_archive("ws", "c1", "dev", ctx);
    REQUIRE(w);
    const std::string data = pattern(5 * kSegment);
    REQUIRE((*w)->write(bytes(data)));
    // Sealed segments become visible while writing (committed in the background).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (objects->list("")->size() < 4 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    REQUIRE(objects->list("")->size() >= 4);
  }
  CHECK(objects->list("")->empty());
}

TEST_CASE("segmented v2 manifests are validated field by field") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  CheckpointStore store(*objects, options(true, true));
  StringSource src(pattern(300'000));
  auto a = store.put_archive("ws", "c1", "dev", src, ctx);
  REQUIRE(a);
  const auto good = nlohmann::json(manifest_for("ws", "c1", *a));
  REQUIRE(parse_manifest(good.dump(), Keyring()));
  auto refused = [&](auto edit) {
    auto j = good;
    edit(j["containers"][0]["archive"]);
    auto m = parse_manifest(j.dump(), Keyring());
    if (m) return std::string();
    return m.error().message();
  };
  using nlohmann::json;
  CHECK(refused([](json& x) { x["segments"]["count"] = x["segments"]["count"].get<int>() + 1; }).find("segments") !=
        std::string::npos);
  CHECK(refused([](json& x) { x["segments"]["count"] = 0; }).find("at least 1") != std::string::npos);
  CHECK(refused([](json& x) { x["segments"]["count"] = -1; }).find("non-negative") != std::string::npos);
  CHECK(refused([](json& x) { x["segments"]["upload"] = "xyz"; }).find("upload") != std::string::npos);
  CHECK(refused([](json& x) { x["segments"]["segment_size"] = 0; }).find("segment size") != std::string::npos);
  CHECK(refused([](json& x) { x["segments"]["segment_size"] = 1ull << 40; }).find("segment size") !=
        std::string::npos);
  CHECK(refused([](json& x) { x["stored"]["part_size"] = 1000; }).find("part size") != std::string::npos);
  CHECK(refused([](json& x) { x["stored"]["parts"].erase(0); }).find("part digests") != std::string::npos);
  CHECK_FALSE(refused([](json& x) { x["segments"] = "many"; }).empty());
}

TEST_CASE("memory stays bounded: 200 MiB through segments, read back and followed") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  OperationContext ctx;
  CheckpointStoreOptions o = options(true, true);
  o.pipeline.segment_size = 8ull << 20;  // the default
  o.pipeline.restore_holdback = 1 << 20;
  o.pipeline.compression.level = 1;
  CheckpointStore store(*objects, o);
  constexpr std::uint64_t kSize = 200ull << 20;
  PatternSource src(kSize, 5);
  auto a = store.put_archive("ws", "big", "dev", src, ctx);
  REQUIRE_MESSAGE(a, (a ? "" : a.error().describe()));
  CHECK(a->segments >= 3);
  REQUIRE(store.write_manifest(manifest_for("ws", "big", *a), ctx));

  // Peak resident memory from here on (Linux: "5" resets VmHWM).
  auto peak_kib = [] {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
    }
    return 0ull;
  };
  auto rss_kib = [] {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
    }
    return 0ull;
  };
  ::malloc_trim(0);  // give back what writing freed, so the peak below is the reading's own
  {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
  }
  const auto base = rss_kib();
  for (bool follow : {false, true}) {
    CAPTURE(follow);
    Result<std::unique_ptr<ByteSource>> r =
        follow ? store.follow_archive("ws", "big", "dev", quick_follow(), ctx) : store.open_archive(*a, ctx);
    REQUIRE(r);
    std::vector<std::byte> buf(1 << 20);
    std::uint64_t total = 0;
    Sha256 h;
    for (;;) {
      auto n = (*r)->read(buf);
      REQUIRE(n);
      if (*n == 0) break;
      h.update(std::span<const std::byte>(buf).first(*n));
      total += *n;
    }
    CHECK(total == kSize);
    CHECK(to_hex(h.finish()) == a->plain_sha256);
  }
  const auto peak = peak_kib();
  MESSAGE("RSS before reading: ", base / 1024, " MiB; peak while reading 200 MiB: ", peak / 1024, " MiB");
  // The segment being returned and those read ahead (8 MiB each), zstd's
  // window and buffers, the holdback, the 1 MiB read buffer: far below the
  // archive's size.
  const std::uint64_t window_kib = (o.pipeline.segment_read_ahead + 1) * (o.pipeline.segment_size >> 10);
  CHECK(peak > base);  // the measurement sees the reading at all
  CHECK(peak < base + window_kib + 40 * 1024);
}

TEST_CASE("a failed segment commit fails the archive, whichever segment it was, and leaves nothing") {
  // 10 segments; the n-th segment's writer fails to be made or to commit.
  for (bool at_create : {false, true}) {
    for (int n : {1, 3, 10}) {
      CAPTURE(at_create);
      CAPTURE(n);
      TempDir dir;
      auto local = make_local_store(dir.path.string());
      ScriptedStore objects(*local);
      (at_create ? objects.fail_create : objects.fail_close) = static_cast<std::uint64_t>(n - 1);
      // Slow commits, so that the failure arrives while later segments are
      // written and in flight.
      objects.close_delay = [](std::uint64_t) { return std::chrono::milliseconds(5); };
      CheckpointStore store(objects, options(false, true));
      OperationContext ctx;
      auto w = store.create_archive("ws", "c1", "dev", ctx);
      REQUIRE(w);
      const std::string plain = pattern(10 * kSegment - 100);
      std::optional<Error> failed;
      for (std::size_t off = 0; off < plain.size() && !failed; off += 7'000) {
        auto st = (*w)->write(bytes(plain.substr(off, 7'000)));
        if (!st) failed = st.error();
      }
      if (!failed) {
        auto st = (*w)->close();
        REQUIRE_FALSE(st);  // never a clean close after a failed segment
        failed = st.error();
      }
      CHECK(failed->message().find("injected") != std::string::npos);
      CHECK(failed->message().find("segment " + std::to_string(n - 1) + " of archive") != std::string::npos);
      CHECK(failed->code() == ErrorCode::kUnavailable);
      w->reset();
      CHECK(local->list("")->empty());
      CHECK(objects.log().writers == 0);
    }
  }
}

TEST_CASE("segments committed out of order still make a correct archive; the last one only after all others") {
  TempDir dir;
  auto local = make_local_store(dir.path.string());
  ScriptedStore objects(*local);
  // Segment 0 commits last of its window, 1 after 2, ...
  objects.close_delay = [](std::uint64_t i) {
    return std::chrono::milliseconds(i % 4 == 0 ? 120 : i % 4 == 1 ? 60 : 0);
  };
  auto o = options(false, true);
  o.pipeline.segment_uploads_in_flight = 3;
  CheckpointStore store(objects, o);
  OperationContext ctx;
  const std::string plain = pattern(25 * kSegment, 7);

  // A follower reads along while the writer writes.
  std::promise<Result<std::string>> followed;
  std::thread follower([&] {
    OperationContext fctx;
    auto f = store.follow_archive("ws", "c1", "dev", quick_follow(std::chrono::seconds(30)), fctx);
    if (!f) return followed.set_value(f.error());
    followed.set_value(read_all(**f));
  });
  StringSource src(plain);
  auto a = store.put_archive("ws", "c1", "dev", src, ctx);
  REQUIRE_MESSAGE(a, (a ? "" : a.error().describe()));
  REQUIRE(a->segments >= 10);
  auto f = followed.get_future().get();
  follower.join();
  REQUIRE_MESSAGE(f, (f ? "" : f.error().describe()));
  CHECK(*f == plain);

  const auto log = objects.log();
  const auto& committed = log.committed;
  REQUIRE(committed.size() == a->segments);
  CHECK_FALSE(std::is_sorted(committed.begin(), committed.end()));  // out of order indeed
  CHECK(log.peak_closing == 3);                                     // the window, used and not exceeded
  CHECK(log.peak_writers <= 3 + 1);                                 // + the one filling
  // The last segment: committed last, and begun only when all others were.
  const std::string last = segment_key(a->key, a->segments - 1);
  CHECK(committed.back() == last);
  for (const auto& [key, committed_before] : log.close_began) {
    if (key == last) CHECK(committed_before == a->segments - 1);
  }
  REQUIRE(store.write_manifest(manifest_for("ws", "c1", *a), ctx));
  auto m = store.read_manifest("ws", "c1", ctx);
  REQUIRE(m);
  auto r = store.open_archive(m->containers[0].archive, ctx);
  REQUIRE(r);
  auto got = read_all(**r);
  REQUIRE_MESSAGE(got, (got ? "" : got.error().describe()));
  CHECK(*got == plain);
}

TEST_CASE("a writer with a window of one commits in the background, one at a time") {
  TempDir dir;
  auto local = make_local_store(dir.path.string());
  ScriptedStore objects(*local);
  objects.close_delay = [](std::uint64_t) { return std::chrono::milliseconds(3); };
  auto o = options(false, false);
  o.pipeline.segment_uploads_in_flight = 1;
  CheckpointStore store(objects, o);
  OperationContext ctx;
  const std::string plain = pattern(6 * kSegment + 5);
  StringSource src(plain);
  auto a = store.put_archive("ws", "c1", "dev", src, ctx);
  REQUIRE(a);
  CHECK(a->segments == 7);
  const auto log = objects.log();
  CHECK(log.peak_closing == 1);
  CHECK(log.peak_writers <= 2);
  CHECK(std::is_sorted(log.committed.begin(), log.committed.end()));
  o.pipeline.segment_uploads_in_flight = 0;
  CheckpointStore invalid(objects, o);
  StringSource again(plain);
  auto refused = invalid.put_archive("ws", "c2", "dev", again, ctx);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("a cancelled writer stops waiting for its commits, fails and leaves nothing") {
  TempDir dir;
  auto local = make_local_store(dir.path.string());
  ScriptedStore objects(*local);
  // Commits far slower than the bound below: only the cancellation can end
  // the wait in time, even on a loaded machine.
  objects.close_delay = [](std::uint64_t) { return std::chrono::milliseconds(3000); };
  auto o = options(false, false);
  o.pipeline.segment_uploads_in_flight = 2;
  CheckpointStore store(objects, o);
  OperationContext ctx;
  auto w = store.create_archive("ws", "c1", "dev", ctx);
  REQUIRE(w);
  const std::string plain = pattern(3 * kSegment);
  REQUIRE((*w)->write(bytes(plain)));  // two segments sealed and committing
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ctx.cancel->cancel();
  });
  const auto start = std::chrono::steady_clock::now();
  auto st = (*w)->write(bytes(plain));  // waits for room in the window, then sees the cancellation
  canceller.join();
  if (st) st = (*w)->close();
  REQUIRE_FALSE(st);
  CHECK(st.error().code() == ErrorCode::kCancelled);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2000));
  w->reset();
  CHECK(local->list("")->empty());
}

TEST_CASE("read-ahead: slow fetches finishing out of order are verified and returned in order") {
  TempDir dir;
  auto local = make_local_store(dir.path.string());
  ScriptedStore objects(*local);
  auto o = options(false, true);
  o.pipeline.segment_read_ahead = 3;
  CheckpointStore store(objects, o);
  OperationContext ctx;
  const std::string plain = pattern(30 * kSegment, 11);
  StringSource src(plain);
  auto a = store.put_archive("ws", "c1", "dev", src, ctx);
  REQUIRE(a);
  REQUIRE(a->segments >= 12);
  REQUIRE(store.write_manifest(manifest_for("ws", "c1", *a), ctx));
  // Earlier segments are slower: fetches ahead finish first.
  objects.open_delay = [](std::uint64_t i) { return std::chrono::milliseconds(i % 3 == 0 ? 30 : i % 3 == 1 ? 15 : 1); };
  for (bool follow : {false, true}) {
    CAPTURE(follow);
    auto r = follow ? store.follow_archive("ws", "c1", "dev", quick_follow(std::chrono::seconds(10)), ctx)
                    : store.open_archive(*a, ctx);
    REQUIRE(r);
    auto got = read_all(**r);
    REQUIRE_MESSAGE(got, (got ? "" : got.error().describe()));
    CHECK(*got == plain);
  }
  CHECK(objects.log().peak_opening > 1);
  CHECK(objects.log().peak_opening <= 3);

  // The reader itself: never more than read_ahead + 1 segment buffers, and
  // each segment's checks (here: its position) made when its turn comes.
  auto seg = SegmentReader::for_archive(objects, *a, o.mac_keys(), ctx, 3);
  auto stored = read_all(*seg);
  REQUIRE(stored);
  CHECK(stored->size() == a->stored.size);
  CHECK(sha256_hex(*stored) == a->stored.sha256);
  CHECK(seg->buffers() <= 4);
  CHECK(seg->buffers() >= 2);
  objects.open_delay = nullptr;
  // Segment 4 moved to 5's place: fetched ahead and valid alone, refused in
  // order, after exactly the bytes of segments 0 to 4.
  const auto five = dir.path / segment_key(a->key, 5);
  const std::string original = read_file(five);
  fs::copy_file(dir.path / segment_key(a->key, 4), five, fs::copy_options::overwrite_existing);
  auto moved = SegmentReader::for_archive(objects, *a, o.mac_keys(), ctx, 3);
  auto d = drain(*moved);
  REQUIRE(d.error);
  CHECK(d.error->message().find("segment 5 of archive") != std::string::npos);
  CHECK(d.error->message().find("is segment 4") != std::string::npos);
  CHECK(d.data.size() == 5 * kSegment);
  CHECK(d.data == stored->substr(0, 5 * kSegment));
  // Every later read repeats the error: never a clean end.
  std::vector<std::byte> one(10);
  CHECK_FALSE(moved->read(one));
  write_file(five, original);
}

TEST_CASE("read-ahead: a failed fetch ahead surfaces from read() in its turn, never as the end") {
  TempDir dir;
  auto local = make_local_store(dir.path.string());
  ScriptedStore objects(*local);
  auto o = options(false, false);
  CheckpointStore store(objects, o);
  OperationContext ctx;
  const std::string plain = pattern(8 * kSegment + 1000, 13);
  StringSource src(plain);
  auto a = store.put_archive("ws", "c1", "dev", src, ctx);
  REQUIRE(a);
  REQUIRE(a->segments == 9);
  objects.fail_open = 6;
  for (bool follow : {false, true}) {
    CAPTURE(follow);
    auto r = follow ? store.follow_archive("ws", "c1", "dev", quick_follow(), ctx) : store.open_archive(*a, ctx);
    REQUIRE(r);
    auto d = drain(**r);
    REQUIRE(d.error);
    CHECK(d.error->code() == ErrorCode::kUnavailable);
    CHECK(d.error->message().find("segment 6 of archive") != std::string::npos);
    CHECK(d.data.size() < plain.size());
    CHECK(d.data == plain.substr(0, d.data.size()));
  }
  objects.fail_open.reset();

  // Cancelled while fetches are slow: read() returns promptly.
  objects.open_delay = [](std::uint64_t i) { return std::chrono::milliseconds(i == 0 ? 0 : 3000); };
  OperationContext cctx;
  auto r = store.open_archive(*a, cctx);
  REQUIRE(r);
  std::vector<std::byte> buf(1000);
  REQUIRE((*r)->read(buf));
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    cctx.cancel->cancel();
  });
  const auto start = std::chrono::steady_clock::now();
  auto d = drain(**r);
  canceller.join();
  REQUIRE(d.error);
  CHECK(d.error->code() == ErrorCode::kCancelled);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2000));
}

TEST_CASE("following: segments that appear out of order are read in order; only the missing one is waited for") {
  TempDir dir;
  auto objects = make_local_store(dir.path.string());
  auto o = options(false, false);
  CheckpointStore store(*objects, o);
  OperationContext ctx;
  const std::string plain = pattern(6 * kSegment + 10, 17);
  StringSource src(plain);
  auto a = store.put_archive("ws", "c1", "dev", src, ctx);
  REQUIRE(a);
  REQUIRE(a->segments == 7);
  // Segment 2 is withheld: 3 to 6 are there (committed before it).
  const auto two = dir.path / segment_key(a->key, 2);
  const std::string withheld = read_file(two);
  fs::remove(two);
  auto f = store.follow_archive("ws", "c1", "dev", quick_follow(std::chrono::seconds(20)), ctx);
  REQUIRE(f);
  std::vector<std::byte> buf(kSegment);
  std::string got;
  while (got.size() < kSegment) {  // from segments 0 and 1
    auto n = (*f)->read(buf);
    REQUIRE_MESSAGE(n, (n ? "" : n.error().describe()));
    REQUIRE(*n > 0);
    got.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    write_file(dir.path / "withheld", withheld);
    fs::rename(dir.path / "withheld", two);  // appears whole
  });
  auto rest = read_all(**f);
  writer.join();
  REQUIRE_MESSAGE(rest, (rest ? "" : rest.error().describe()));
  CHECK(got + *rest == plain);
}
