#include "store/archive_pipeline.h"

#include "store/encryption.h"
#include "store/hashing_sink.h"
#include "store/progress.h"
#include "store/verifying_source.h"

namespace wscp::store {

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
  std::unique_ptr<HashingSink> stored;
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
    object.reset();  // aborts the object if it was not committed
  }
};

Result<std::unique_ptr<ArchiveWriter>> ArchiveWriter::make(ObjectStore& store, const std::string& key,
                                                           const PipelineOptions& options,
                                                           const OperationContext& ctx, std::string stage) {
  std::unique_ptr<ArchiveWriter> w(new ArchiveWriter());
  w->chain_ = std::make_unique<Chain>();
  auto& c = *w->chain_;
  c.ctx = &ctx;
  auto object = store.create(key, ctx);
  if (!object) return object.error();
  c.object = std::move(*object);
  c.stored = std::make_unique<HashingSink>(*c.object, options.digest_part_size);
  ByteSink* next = c.stored.get();
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
  result_.stored = chain_->stored->digests();
  chain_->progress->finish();
  return Ok{};
}

namespace {

// Owns the stages of a restore stream; reads from the last one.
class VerifiedArchiveSource : public ByteSource {
 public:
  std::unique_ptr<ByteSource> object;
  std::unique_ptr<VerifyingSource> stored;
  std::unique_ptr<DecryptingSource> decrypt;
  std::unique_ptr<ZstdDecompressSource> decompress;
  std::unique_ptr<VerifyingSource> plain;
  std::unique_ptr<HoldbackSource> holdback;
  std::unique_ptr<ProgressMeter> progress;
  const OperationContext* ctx = nullptr;
  std::string key;

  ~VerifiedArchiveSource() override {
    holdback.reset();
    plain.reset();
    decompress.reset();
    decrypt.reset();
    stored.reset();
    object.reset();
  }

  Result<std::size_t> read(std::span<std::byte> buffer) override {
    if (ctx->cancelled()) return Error(ErrorCode::kCancelled, "archive " + key + ": cancelled");
    auto n = holdback->read(buffer);
    if (!n) return n.error().wrap("archive " + key);
    if (*n == 0) {
      progress->finish();
    } else {
      progress->add(*n);
    }
    return n;
  }
};

}  // namespace

Result<std::unique_ptr<ByteSource>> open_verified(ObjectStore& store, const ArchiveObject& archive,
                                                  const PipelineOptions& options, const OperationContext& ctx,
                                                  std::string stage) {
  const Keyring keys = options.keys();
  const EncryptionKey* key = nullptr;
  if (archive.encryption) {
    if (keys.empty()) {
      return Error(ErrorCode::kPermissionDenied, "archive " + archive.key + " is encrypted with key " +
                                                     archive.encryption->key_id +
                                                     " but no encryption key is configured: configure that key");
    }
    key = keys.find(archive.encryption->key_id);
    if (key == nullptr) {
      return Error(ErrorCode::kPermissionDenied, "archive " + archive.key + " is encrypted with key " +
                                                     archive.encryption->key_id + " but the configured keys are " +
                                                     keys.ids() +
                                                     ": configure the key the checkpoint was made with (an older "
                                                     "key goes after the current one in the key file)");
    }
  }
  auto s = std::make_unique<VerifiedArchiveSource>();
  s->ctx = &ctx;
  s->key = archive.key;
  auto object = store.open(archive.key, ctx);
  if (!object) return object.error();
  s->object = std::move(*object);
  s->stored = std::make_unique<VerifyingSource>(*s->object, archive.stored, "stored archive " + archive.key);
  ByteSource* next = s->stored.get();
  if (archive.encryption) {
    s->decrypt = std::make_unique<DecryptingSource>(*next, *key);
    next = s->decrypt.get();
  }
  if (archive.compression == Compression::kZstd) {
    auto z = ZstdDecompressSource::make(*next);
    if (!z) return z.error();
    s->decompress = std::move(*z);
    next = s->decompress.get();
  }
  StreamDigests plain{archive.plain_size, archive.plain_sha256, 0, {}};
  s->plain = std::make_unique<VerifyingSource>(*next, plain, "archive " + archive.key + " after decoding");
  s->holdback = std::make_unique<HoldbackSource>(*s->plain, options.restore_holdback);
  s->progress = std::make_unique<ProgressMeter>(ctx, std::move(stage), archive.plain_size);
  return std::unique_ptr<ByteSource>(std::move(s));
}

}  // namespace wscp::store
