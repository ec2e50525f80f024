#include "store/named_archives.h"

#include "store/archive_pipeline.h"
#include "store/crypto.h"

namespace wscp::store {
namespace {

std::string meta_mac(const nlohmann::json& body, const EncryptionKey& key) {
  return to_hex(hmac_sha256(key.derive("named archive mac"), "wscp named archive v1\n" + body.dump()));
}

// Writes the description once the archive itself is complete.
class NamedWriter : public ByteSink {
 public:
  NamedWriter(NamedArchives& owner, std::string name, std::unique_ptr<ArchiveWriter> archive,
              const OperationContext& ctx)
      : owner_(owner), name_(std::move(name)), archive_(std::move(archive)), ctx_(ctx) {}
  Status write(std::span<const std::byte> data) override { return archive_->write(data); }
  Status close() override {
    auto st = archive_->close();
    if (!st) return st;
    return owner_.write_meta(name_, archive_->result(), ctx_);
  }

 private:
  NamedArchives& owner_;
  std::string name_;
  std::unique_ptr<ArchiveWriter> archive_;
  const OperationContext& ctx_;
};

}  // namespace

Result<ArchiveObject> parse_archive_description(std::string_view text, const std::string& name,
                                                const std::string& object_key, const Keyring& mac_keys) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kIntegrity, "the description of archive " + name + " " + why + "; refusing the archive");
  };
  ArchiveObject archive;
  try {
    auto meta = nlohmann::json::parse(text);
    if (!meta.is_object()) return bad("is not a JSON object");
    const auto& body = meta.at("body");
    if (!body.is_object()) return bad("has no body object");
    if (!body.at("version").is_number_integer() || body.at("version").get<long long>() != 1) {
      return bad("has an unsupported version");
    }
    if (!mac_keys.empty()) {
      if (!meta.contains("auth")) return bad("is not authenticated although a key is configured");
      auto auth = meta.at("auth").get<ManifestAuth>();
      if (auth.algorithm != "hmac-sha256") return bad("uses an unknown authentication algorithm");
      const EncryptionKey* k = mac_keys.find(auth.key_id);
      if (k == nullptr) {
        return Error(ErrorCode::kPermissionDenied, "archive " + name + " was written with key " +
                                                       auth.key_id.substr(0, 64) + " but the configured keys are " +
                                                       mac_keys.ids() + ": configure the key it was made with");
      }
      if (!equal_constant_time(auth.mac, meta_mac(body, *k))) return bad("has a MAC that does not match");
    } else if (meta.contains("auth")) {
      return Error(ErrorCode::kPermissionDenied,
                   "archive " + name + " is authenticated but no key is configured: configure its key");
    }
    if (body.at("name").get<std::string>() != name) return bad("names another archive");
    archive = body.at("archive").get<ArchiveObject>();
  } catch (const std::exception& e) {
    return bad(std::string("is malformed (") + e.what() + ")");
  }
  if (archive.key != object_key) return bad("points at another object ('" + archive.key.substr(0, 200) + "')");
  auto st = validate_archive_object(archive, object_key);
  if (!st) return bad("is invalid: " + st.error().message());
  return archive;
}

NamedArchives::NamedArchives(ObjectStore& objects, CheckpointStoreOptions options, std::string prefix)
    : objects_(objects), options_(std::move(options)), prefix_(std::move(prefix)) {
  while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
}

Result<std::string> NamedArchives::object_key(const std::string& name) const {
  std::string key = prefix_.empty() ? name : prefix_ + "/" + name;
  auto st = validate_key(key);
  if (!st) return st.error();
  if (name.size() > 10 && name.ends_with(".meta.json")) {
    return Error(ErrorCode::kInvalidArgument, "archive name '" + name + "' is reserved (ends in .meta.json)");
  }
  return key;
}

std::string NamedArchives::meta_key(const std::string& name) const {
  return (prefix_.empty() ? name : prefix_ + "/" + name) + ".meta.json";
}

std::string NamedArchives::describe(const std::string& name) const {
  return objects_.describe() + "/" + (prefix_.empty() ? name : prefix_ + "/" + name);
}

Result<std::unique_ptr<ByteSink>> NamedArchives::create(const std::string& name, const OperationContext& ctx) {
  auto key = object_key(name);
  if (!key) return key.error();
  auto auth = require_authentication(objects_, options_);
  if (!auth) return auth.error();
  // A new write replaces an old archive: its description goes first, so a
  // reader never pairs the old description with new bytes.
  auto st = objects_.remove(meta_key(name));
  if (!st) return st.error();
  auto writer = ArchiveWriter::make(objects_, *key, options_.pipeline, ctx);
  if (!writer) return writer.error();
  return std::unique_ptr<ByteSink>(std::make_unique<NamedWriter>(*this, name, std::move(*writer), ctx));
}

Status NamedArchives::write_meta(const std::string& name, const ArchiveObject& archive, const OperationContext& ctx) {
  nlohmann::json body{{"version", 1}, {"name", name}, {"archive", archive}};
  nlohmann::json meta{{"body", body}};
  auto auth = require_authentication(objects_, options_);
  if (!auth) return auth;
  if (const EncryptionKey* k = options_.mac_key()) meta["auth"] = ManifestAuth{"hmac-sha256", k->id, meta_mac(body, *k)};
  return put_object(objects_, meta_key(name), meta.dump(2), ctx);
}

Result<ArchiveObject> NamedArchives::describe_archive(const std::string& name, const OperationContext& ctx) {
  auto key = object_key(name);
  if (!key) return key.error();
  auto auth = require_authentication(objects_, options_);
  if (!auth) return auth.error();
  auto text = get_object(objects_, meta_key(name), 1 << 20, ctx);
  if (!text) {
    if (text.error().code() == ErrorCode::kNotFound) {
      return Error(ErrorCode::kNotFound, describe(name) + " does not exist or never completed");
    }
    return text.error();
  }
  auto archive = parse_archive_description(*text, name, *key, options_.mac_keys());
  if (!archive) return archive.error().wrap(describe(name));
  return archive;
}

Result<std::unique_ptr<ByteSource>> NamedArchives::open(const std::string& name, const OperationContext& ctx) {
  auto archive = describe_archive(name, ctx);
  if (!archive) return archive.error();
  return open_verified(objects_, *archive, options_.pipeline, ctx);
}

Result<bool> NamedArchives::exists(const std::string& name) {
  auto key = object_key(name);
  if (!key) return key.error();
  auto meta = objects_.head(meta_key(name));
  if (!meta) return meta.error();
  return meta->has_value();
}

}  // namespace wscp::store
