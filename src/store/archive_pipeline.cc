#include "store/archive_pipeline.h"

#include <algorithm>

#include "store/encryption.h"
#include "store/hashing_sink.h"
#include "store/crypto.h"
#include "store/progress.h"
#include "store/segment_writer.h"
#include "store/verifying_source.h"

namespace wscp::store {
namespace {

constexpr unsigned kMaxSegmentWindow = 64;

Status check_read_ahead(const PipelineOptions& options) {
  if (options.segment_read_ahead > kMaxSegmentWindow) {
    return Error(ErrorCode::kInvalidArgument, "segment read-ahead " + std::to_string(options.segment_read_ahead) +
                                                  " is out of range (0 to " + std::to_string(kMaxSegmentWindow) +
                                                  ")");
  }
  return Ok{};
}

}  // namespace

Keyring PipelineOptions::keys() const {
  Keyring ring;
  if (encryption_key) ring.add(*encryption_key);
  for (const auto& k : older_keys) ring.add(k);
  return ring;
}

// Sinks are built back to front and each refers to the next, so they are
// owned here together and destroyed front to back.
struct ArchiveWriter::Chain {
  std::unique_ptr<ByteSink> object;
  std::unique_ptr<SegmentWriter> segments;  // segmented: the last sink
  std::unique_ptr<HashingSink> stored;      // single object
  std::unique_ptr<EncryptingSink> encrypt;
  std::unique_ptr<ZstdCompressSink> compress;
  std::unique_ptr<HashingSink> plain;
  std::unique_ptr<ProgressMeter> progress;
  const OperationContext* ctx = nullptr;

  ~Chain() {
    plain.reset();
    compress.reset();
    encrypt.reset();
    stored.reset();
    segments.reset();  // removes the segments if the archive was not committed
    object.reset();    // aborts the object if it was not committed
  }
};

Result<std::unique_ptr<ArchiveWriter>> ArchiveWriter::make(ObjectStore& store, const std::string& key,
                                                           const PipelineOptions& options,
                                                           const OperationContext& ctx, std::string stage) {
  std::unique_ptr<ArchiveWriter> w(new ArchiveWriter());
  w->chain_ = std::make_unique<Chain>();
  auto& c = *w->chain_;
  c.ctx = &ctx;
  ByteSink* next = nullptr;
  if (options.segmented) {
    if (options.segment_size == 0 || options.segment_size > kMaxSegmentSize) {
      return Error(ErrorCode::kInvalidArgument, "segment size " + std::to_string(options.segment_size) +
                                                    " is out of range (1 to " + std::to_string(kMaxSegmentSize) +
                                                    " bytes)");
    }
    if (options.segment_uploads_in_flight < 1 || options.segment_uploads_in_flight > kMaxSegmentWindow) {
      return Error(ErrorCode::kInvalidArgument, "segment uploads in flight " +
                                                    std::to_string(options.segment_uploads_in_flight) +
                                                    " is out of range (1 to " + std::to_string(kMaxSegmentWindow) +
                                                    ")");
    }
    auto st = validate_key(key);
    if (!st) return st.error();
    SegmentWriterConfig config;
    config.uploads_in_flight = options.segment_uploads_in_flight;
    config.archive_key = key;
    config.segment_size = options.segment_size;
    config.compression = options.compression.algorithm;
    if (options.encryption_key) {
      config.encryption = EncryptionInfo{std::string(kEncryptionAlgorithm), options.encryption_key->id};
    }
    config.mac_key = options.mac_key;
    Chain* chain = &c;
    config.plain_totals = [chain] { return chain->plain->digests(); };
    c.segments = std::make_unique<SegmentWriter>(store, std::move(config), ctx);
    next = c.segments.get();
  } else {
    auto object = store.create(key, ctx);
    if (!object) return object.error();
    c.object = std::move(*object);
    c.stored = std::make_unique<HashingSink>(*c.object, options.digest_part_size);
    next = c.stored.get();
  }
  if (options.encryption_key) {
    auto enc = EncryptingSink::make(*next, *options.encryption_key);
    if (!enc) return enc.error();
    c.encrypt = std::move(*enc);
    next = c.encrypt.get();
  }
  if (options.compression.algorithm == Compression::kZstd) {
    auto z = ZstdCompressSink::make(*next, options.compression);
    if (!z) return z.error();
    c.compress = std::move(*z);
    next = c.compress.get();
  }
  c.plain = std::make_unique<HashingSink>(*next);
  c.progress = std::make_unique<ProgressMeter>(ctx, std::move(stage));

  auto& r = w->result_;
  r.key = key;
  r.compression = options.compression.algorithm;
  r.compression_level = r.compression == Compression::kZstd ? options.compression.level : 0;
  if (options.encryption_key) {
    r.encryption = EncryptionInfo{std::string(kEncryptionAlgorithm), options.encryption_key->id};
  }
  return w;
}

ArchiveWriter::~ArchiveWriter() = default;

Status ArchiveWriter::write(std::span<const std::byte> data) {
  if (closed_) return Error(ErrorCode::kInternal, "write after close on archive " + result_.key);
  if (chain_->ctx->cancelled()) return Error(ErrorCode::kCancelled, "archive " + result_.key + ": cancelled");
  auto st = chain_->plain->write(data);
  if (!st) return st.error().wrap("archive " + result_.key);
  chain_->progress->add(data.size());
  return Ok{};
}

Status ArchiveWriter::close() {
  if (closed_) return Error(ErrorCode::kInternal, "archive " + result_.key + " closed twice");
  closed_ = true;
  if (chain_->ctx->cancelled()) return Error(ErrorCode::kCancelled, "archive " + result_.key + ": cancelled");
  auto st = chain_->plain->close();
  if (!st) return st.error().wrap("archive " + result_.key);
  result_.plain_size = chain_->plain->digests().size;
  result_.plain_sha256 = chain_->plain->digests().sha256;
  if (chain_->segments) {
    result_.stored = chain_->segments->digests();
    result_.segment_size = result_.stored.part_size;
    result_.segments = chain_->segments->segments();
    result_.upload = chain_->segments->upload();
  } else {
    result_.stored = chain_->stored->digests();
  }
  chain_->progress->finish();
  return Ok{};
}

namespace {

// Owns the stages of a restore stream (in the order they were made, each
// reading from the one before) and reads from the last.
class VerifiedArchiveSource : public ByteSource {
 public:
  std::vector<std::unique_ptr<ByteSource>> stages;
  std::unique_ptr<ProgressMeter> progress;
  const OperationContext* ctx = nullptr;
  std::string key;

  ~VerifiedArchiveSource() override {
    while (!stages.empty()) stages.pop_back();
  }

  ByteSource& last() { return *stages.back(); }
  template <typename T>
  T& add(std::unique_ptr<T> stage) {
    T& ref = *stage;
    stages.push_back(std::move(stage));
    return ref;
  }

  Result<std::size_t> read(std::span<std::byte> buffer) override {
    if (ctx->cancelled()) return Error(ErrorCode::kCancelled, "archive " + key + ": cancelled");
    auto n = last().read(buffer);
    if (!n) return n.error().wrap("archive " + key);
    if (*n == 0) {
      progress->finish();
    } else {
      progress->add(*n);
    }
    return n;
  }
};

// The plain end of a followed archive: its size and SHA-256 are stated by the
// last segment's trailer, known only once that segment was read.
class FollowedTotalsCheck : public ByteSource {
 public:
  FollowedTotalsCheck(ByteSource& upstream, const SegmentReader& segments, std::string what)
      : upstream_(upstream), segments_(segments), what_(std::move(what)) {}

  Result<std::size_t> read(std::span<std::byte> buffer) override {
    if (done_) return std::size_t{0};
    auto n = upstream_.read(buffer);
    if (!n) return n.error();
    if (*n > 0) {
      hash_.update(buffer.first(*n));
      size_ += *n;
      return n;
    }
    const auto& totals = segments_.totals();
    if (!totals) return mismatch("the decoded stream ended before the segment marked last");
    if (size_ != totals->plain_size) {
      return mismatch("decoded to " + std::to_string(size_) + " bytes, the last segment states " +
                      std::to_string(totals->plain_size));
    }
    if (to_hex(hash_.finish()) != totals->plain_sha256) {
      return mismatch("decoded to bytes whose SHA-256 differs from what the last segment states");
    }
    done_ = true;
    return std::size_t{0};
  }

 private:
  Error mismatch(const std::string& detail) const {
    return Error(ErrorCode::kIntegrity, what_ + ": " + detail + "; it must not be used");
  }

  ByteSource& upstream_;
  const SegmentReader& segments_;
  std::string what_;
  Sha256 hash_;
  std::uint64_t size_ = 0;
  bool done_ = false;
};

// Passes verified bytes on; at their end runs a hook before the stream may
// end (the holdback after it keeps the tail until then).
class BeforeEnd : public ByteSource {
 public:
  BeforeEnd(ByteSource& upstream, std::function<Status()> hook) : upstream_(upstream), hook_(std::move(hook)) {}

  Result<std::size_t> read(std::span<std::byte> buffer) override {
    if (passed_) return std::size_t{0};
    auto n = upstream_.read(buffer);
    if (!n || *n > 0) return n;
    if (auto st = hook_(); !st) return st.error();
    passed_ = true;
    return std::size_t{0};
  }

 private:
  ByteSource& upstream_;
  std::function<Status()> hook_;
  bool passed_ = false;
};

Result<const EncryptionKey*> find_decryption_key(const Keyring& keys, const std::string& archive_key,
                                                 const std::string& key_id) {
  if (keys.empty()) {
    return Error(ErrorCode::kPermissionDenied, "archive " + archive_key + " is encrypted with key " + key_id +
                                                   " but no encryption key is configured: configure that key");
  }
  const EncryptionKey* key = keys.find(key_id);
  if (key == nullptr) {
    return Error(ErrorCode::kPermissionDenied, "archive " + archive_key + " is encrypted with key " + key_id +
                                                   " but the configured keys are " + keys.ids() +
                                                   ": configure the key the checkpoint was made with (an older "
                                                   "key goes after the current one in the key file)");
  }
  return key;
}

// Adds decryption and decompression after the stored bytes; returns the
// decoded stream.
Result<ByteSource*> add_decoders(VerifiedArchiveSource& s, ByteSource& stored, const EncryptionKey* key,
                                 Compression compression) {
  ByteSource* next = &stored;
  if (key != nullptr) next = &s.add(std::make_unique<DecryptingSource>(*next, *key));
  if (compression == Compression::kZstd) {
    auto z = ZstdDecompressSource::make(*next);
    if (!z) return z.error();
    next = &s.add(std::move(*z));
  }
  return next;
}

}  // namespace

Result<std::unique_ptr<ByteSource>> open_verified(ObjectStore& store, const ArchiveObject& archive,
                                                  const PipelineOptions& options, const OperationContext& ctx,
                                                  std::string stage, std::function<Status()> before_end) {
  const Keyring keys = options.keys();
  const EncryptionKey* key = nullptr;
  if (archive.encryption) {
    auto found = find_decryption_key(keys, archive.key, archive.encryption->key_id);
    if (!found) return found.error();
    key = *found;
  }
  auto s = std::make_unique<VerifiedArchiveSource>();
  s->ctx = &ctx;
  s->key = archive.key;
  ByteSource* stored = nullptr;
  if (archive.segmented()) {
    auto st = validate_key(archive.key);
    if (st) st = check_read_ahead(options);
    if (!st) return st.error();
    // Each segment is checked against the manifest's part digest before its
    // bytes pass on; together they fix the whole stored stream.
    stored = &s->add(SegmentReader::for_archive(store, archive, options.mac_keys, ctx, options.segment_read_ahead));
  } else {
    auto object = store.open(archive.key, ctx);
    if (!object) return object.error();
    ByteSource& raw = s->add(std::move(*object));
    stored = &s->add(std::make_unique<VerifyingSource>(raw, archive.stored, "stored archive " + archive.key));
  }
  auto decoded = add_decoders(*s, *stored, key, archive.compression);
  if (!decoded) return decoded.error();
  StreamDigests plain{archive.plain_size, archive.plain_sha256, 0, {}};
  ByteSource* verified =
      &s->add(std::make_unique<VerifyingSource>(**decoded, plain, "archive " + archive.key + " after decoding"));
  if (before_end) verified = &s->add(std::make_unique<BeforeEnd>(*verified, std::move(before_end)));
  s->add(std::make_unique<HoldbackSource>(*verified, options.restore_holdback));
  s->progress = std::make_unique<ProgressMeter>(ctx, std::move(stage), archive.plain_size);
  return std::unique_ptr<ByteSource>(std::move(s));
}

Result<std::unique_ptr<ByteSource>> open_following(ObjectStore& store, const std::string& archive_key,
                                                   const PipelineOptions& options, const FollowOptions& follow,
                                                   const OperationContext& ctx, std::string stage,
                                                   FollowGate gate) {
  auto st = validate_key(archive_key);
  if (st) st = check_read_ahead(options);
  if (!st) return st.error();
  auto s = std::make_unique<VerifiedArchiveSource>();
  s->ctx = &ctx;
  s->key = archive_key;
  auto& segments = s->add(SegmentReader::follow(store, archive_key, options.compression.algorithm,
                                                options.encryption_key.has_value(), options.mac_keys, follow, ctx,
                                                options.segment_read_ahead));
  auto first = segments.first();
  if (!first) return first.error().wrap("archive " + archive_key);
  const Keyring keys = options.keys();
  const EncryptionKey* key = nullptr;
  if (first->encryption) {
    auto found = find_decryption_key(keys, archive_key, first->encryption->key_id);
    if (!found) return found.error();
    key = *found;
  }
  auto decoded = add_decoders(*s, segments, key, first->compression);
  if (!decoded) return decoded.error();
  ByteSource* verified = &s->add(std::make_unique<FollowedTotalsCheck>(**decoded, segments, "archive " + archive_key));
  if (gate) {
    auto hook = [gate = std::move(gate), &segments, archive_key] {
      return gate(FollowedWriting{archive_key, segments.upload(), *segments.totals()});
    };
    verified = &s->add(std::make_unique<BeforeEnd>(*verified, std::move(hook)));
  }
  s->add(std::make_unique<HoldbackSource>(*verified, options.restore_holdback));
  s->progress = std::make_unique<ProgressMeter>(ctx, std::move(stage));
  return std::unique_ptr<ByteSource>(std::move(s));
}

std::uint64_t transfer_memory_bound(const PipelineOptions& options) {
  constexpr std::uint64_t kMargin = 8ull << 20;      // HTTP, GCM chunks, tar tap, hashing
  constexpr std::uint64_t kZstdWindow = 8ull << 20;  // a decoder's window at the levels allowed
  const std::uint64_t segment = options.segmented ? options.segment_size : options.digest_part_size;
  std::uint64_t compress = 0;
  if (options.compression.algorithm == Compression::kZstd) {
    // (workers + 2) jobs of input and output each; one job in and out without workers.
    const std::uint64_t jobs = options.compression.workers > 0 ? options.compression.workers + 2 : 1;
    compress = jobs * 2 * static_cast<std::uint64_t>(options.compression.job_size);
    compress += options.compression.raw_window + (64 << 10);  // the window probed, and the probe's
  }
  // Each segment in flight or read ahead counted twice: its own buffer and
  // the HTTP transfer's (measured: a 1 GiB plain download peaks 60 MiB
  // over the process's base with 8 MiB segments read 3 ahead, with large
  // buffers returned to the system as wscp-agent does).
  const std::uint64_t writing = 2 * (options.segment_uploads_in_flight + 1ull) * segment + compress + kMargin;
  const std::uint64_t reading = 2 * (options.segment_read_ahead + 1ull) * segment + options.restore_holdback +
                                (options.compression.algorithm == Compression::kZstd ? kZstdWindow : 0) + kMargin;
  return std::max(writing, reading);
}

}  // namespace wscp::store
