#include "store/checkpoint_store.h"

#include <map>

#include "store/crypto.h"
#include "store/layout.h"
#include "store/segment.h"

namespace wscp::store {
namespace {

std::string image_dir(const std::string& image_id) { return layout::image_key(image_id) + "/"; }
std::string image_meta_key(const std::string& image_id) { return image_dir(image_id) + "meta.json"; }

// Image metadata is shared by many checkpoints; it carries its own MAC so a
// later manifest does not vouch for something nobody authenticated.
std::string image_mac(const nlohmann::json& image, const EncryptionKey& key) {
  return to_hex(hmac_sha256(key.derive("image mac"), "wscp image v1\n" + image.dump()));
}

}  // namespace

const EncryptionKey* CheckpointStoreOptions::mac_key() const {
  if (manifest_key) return &*manifest_key;
  if (pipeline.encryption_key) return &*pipeline.encryption_key;
  return nullptr;
}

Keyring CheckpointStoreOptions::mac_keys() const {
  Keyring ring;
  if (const EncryptionKey* k = mac_key()) ring.add(*k);
  const Keyring decryption = pipeline.keys();
  for (const auto& k : decryption.keys()) ring.add(k);
  return ring;
}

Status require_authentication(const ObjectStore& store, const CheckpointStoreOptions& options) {
  if (!store.shared() || options.mac_key() != nullptr || options.allow_unauthenticated_shared_store) return Ok{};
  return Error(ErrorCode::kPermissionDenied,
               store.describe() +
                   " is a shared store (others can write to it) and no key is configured, so nothing read back "
                   "from it could be trusted: configure an encryption key (encrypts and authenticates) or a "
                   "manifest key (authenticates); with wscp-agent: --encryption-key FILE or --manifest-key FILE");
}

Result<ImageBlob> parse_image_meta(std::string_view text, const std::string& image_id, const Keyring& mac_keys) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kIntegrity, "metadata of image " + image_id + " " + why);
  };
  ImageBlob blob;
  try {
    auto j = nlohmann::json::parse(text);
    if (!j.is_object()) return bad("is not a JSON object");
    if (!mac_keys.empty()) {
      if (!j.contains("mac") || !j.at("mac").is_string()) return bad("is not authenticated");
      // Image metadata carries no key id: any key of the ring may vouch for it.
      bool vouched = false;
      for (const auto& k : mac_keys.keys()) {
        vouched = vouched || equal_constant_time(j.at("mac").get<std::string>(), image_mac(j.at("image"), k));
      }
      if (!vouched) return bad("has a MAC that none of the configured keys (" + mac_keys.ids() + ") made");
    } else if (j.contains("mac")) {
      return Error(ErrorCode::kPermissionDenied,
                   "metadata of image " + image_id + " is authenticated but no key is configured");
    }
    blob = j.at("image").get<ImageBlob>();
  } catch (const std::exception& e) {
    return bad(std::string("is malformed (") + e.what() + ")");
  }
  if (blob.id != image_id) return bad("describes another image");
  auto st = validate_archive_object(blob.archive, image_dir(image_id));
  if (!st) return bad("is invalid: " + st.error().message());
  if (blob.names.size() > 256) return bad("lists too many names");
  for (const auto& n : blob.names) {
    if (n.empty() || n.size() > 512) return bad("has an empty or over-long image name");
  }
  if (blob.format.empty() || blob.format.size() > 64) return bad("has no valid format");
  return blob;
}

CheckpointStore::CheckpointStore(ObjectStore& objects, CheckpointStoreOptions options)
    : objects_(objects), options_(std::move(options)) {
  // Segment trailers are authenticated like manifests.
  if (const EncryptionKey* k = options_.mac_key()) options_.pipeline.mac_key = *k;
  options_.pipeline.mac_keys = options_.mac_keys();
}

Status CheckpointStore::check_authenticated() const { return require_authentication(objects_, options_); }

Result<std::unique_ptr<ArchiveWriter>> CheckpointStore::create_archive(const std::string& workspace_id,
                                                                       const std::string& checkpoint_id,
                                                                       const std::string& container,
                                                                       const OperationContext& ctx) {
  for (auto st : {validate_name(workspace_id, "workspace id"), validate_name(checkpoint_id, "checkpoint id"),
                  validate_name(container, "container name"), check_authenticated()}) {
    if (!st) return st.error();
  }
  return ArchiveWriter::make(objects_, archive_key(workspace_id, checkpoint_id, container), options_.pipeline, ctx);
}

Result<ArchiveObject> CheckpointStore::put_archive(const std::string& workspace_id, const std::string& checkpoint_id,
                                                   const std::string& container, ByteSource& tar,
                                                   const OperationContext& ctx) {
  auto writer = create_archive(workspace_id, checkpoint_id, container, ctx);
  if (!writer) return writer.error();
  auto st = pump(tar, **writer, ctx);
  if (!st) return st.error();
  return (*writer)->result();
}

Result<std::optional<ImageBlob>> CheckpointStore::find_image(const std::string& image_id) {
  for (auto st : {validate_image_digest(image_id), check_authenticated()}) {
    if (!st) return st.error();
  }
  OperationContext ctx;
  auto text = get_object(objects_, image_meta_key(image_id), 1 << 20, ctx);
  if (!text) {
    if (text.error().code() == ErrorCode::kNotFound) return std::optional<ImageBlob>();
    return text.error();
  }
  // Unreadable, unauthenticated (written without our keys) or altered
  // metadata: store the image again.
  auto parsed = parse_image_meta(*text, image_id, options_.mac_keys());
  if (!parsed) return std::optional<ImageBlob>();
  ImageBlob blob = std::move(*parsed);
  // Readable only with a key of the ring.
  if (blob.archive.encryption && options_.pipeline.keys().find(blob.archive.encryption->key_id) == nullptr) {
    return std::optional<ImageBlob>();
  }
  if (blob.archive.segmented()) {
    // Every segment is there (one listing; their contents are verified when
    // the image is read).
    auto listed = objects_.list(blob.archive.key + "/");
    if (!listed) return listed.error();
    std::uint64_t i = 0;
    for (const auto& o : *listed) {
      if (i < blob.archive.segments && o.key == segment_key(blob.archive.key, i)) ++i;
    }
    if (i != blob.archive.segments) return std::optional<ImageBlob>();
    return std::optional<ImageBlob>(blob);
  }
  auto head = objects_.head(blob.archive.key);
  if (!head) return head.error();
  if (!*head || (*head)->size != blob.archive.stored.size) return std::optional<ImageBlob>();
  return std::optional<ImageBlob>(blob);
}

Result<std::unique_ptr<ImageWriter>> CheckpointStore::create_image(const std::string& image_id,
                                                                   std::vector<std::string> names,
                                                                   std::string format, const OperationContext& ctx) {
  for (auto st : {validate_image_digest(image_id), check_authenticated()}) {
    if (!st) return st.error();
  }
  // A unique blob name per upload: two nodes shipping the same image at once
  // each get a consistent blob + metadata pair.
  std::string key = image_dir(image_id) + "blob-" + random_hex(8);
  auto writer = ArchiveWriter::make(objects_, key, options_.pipeline, ctx, "image upload");
  if (!writer) return writer.error();
  ImageBlob blob{image_id, std::move(names), std::move(format), {}};
  return std::make_unique<ImageWriter>(*this, std::move(*writer), std::move(blob), ctx);
}

Status ImageWriter::close() {
  auto st = archive_->close();
  if (!st) return st;
  blob_.archive = archive_->result();
  return store_.write_image_meta(blob_, ctx_);
}

Status CheckpointStore::write_image_meta(const ImageBlob& blob, const OperationContext& ctx) {
  auto st = check_authenticated();
  if (!st) return st;
  nlohmann::json meta{{"image", blob}};
  if (const EncryptionKey* k = options_.mac_key()) meta["mac"] = image_mac(meta["image"], *k);
  return put_object(objects_, image_meta_key(blob.id), meta.dump(2), ctx);
}

Result<ImageBlob> CheckpointStore::put_image(const std::string& image_id, const std::vector<std::string>& names,
                                             const std::string& format, ByteSource& archive,
                                             const OperationContext& ctx) {
  auto found = find_image(image_id);
  if (!found) return found.error();
  if (*found) return **found;
  auto writer = create_image(image_id, names, format, ctx);
  if (!writer) return writer.error();
  auto st = pump(archive, **writer, ctx);
  if (!st) return st.error();
  return (*writer)->result();
}

Status CheckpointStore::write_manifest(const Manifest& manifest, const OperationContext& ctx) {
  for (auto st : {validate_manifest(manifest), check_authenticated()}) {
    if (!st) return st;
  }
  std::string text = serialize_manifest(manifest, options_.mac_key());
  return put_object(objects_, layout::manifest_key(manifest.workspace_id, manifest.checkpoint_id), text, ctx);
}

Result<Manifest> CheckpointStore::read_manifest(const std::string& workspace_id, const std::string& checkpoint_id,
                                                const OperationContext& ctx) {
  for (auto st : {validate_name(workspace_id, "workspace id"), validate_name(checkpoint_id, "checkpoint id"),
                  check_authenticated()}) {
    if (!st) return st.error();
  }
  std::string key = layout::manifest_key(workspace_id, checkpoint_id);
  auto text = get_object(objects_, key, options_.max_manifest_size, ctx);
  if (!text) {
    if (text.error().code() == ErrorCode::kNotFound) {
      return Error(ErrorCode::kNotFound, "checkpoint " + checkpoint_id + " of workspace " + workspace_id +
                                             " has no manifest in " + objects_.describe() +
                                             " (it does not exist or never completed)");
    }
    return text.error();
  }
  auto m = parse_manifest(*text, options_.mac_keys());
  if (!m) return m.error().wrap(objects_.describe() + "/" + key);
  if (m->workspace_id != workspace_id || m->checkpoint_id != checkpoint_id) {
    return Error(ErrorCode::kIntegrity, "manifest at " + key + " describes checkpoint " + m->checkpoint_id +
                                            " of workspace " + m->workspace_id + ": it was moved; refusing it");
  }
  return m;
}

Result<std::unique_ptr<ByteSource>> CheckpointStore::open_archive(const ArchiveObject& archive,
                                                                  const OperationContext& ctx,
                                                                  std::function<Status()> before_end) {
  auto st = check_authenticated();
  if (!st) return st.error();
  return open_verified(objects_, archive, options_.pipeline, ctx, "download", std::move(before_end));
}

std::string CheckpointStore::archive_key(const std::string& workspace_id, const std::string& checkpoint_id,
                                         const std::string& container) const {
  return layout::archive_key(workspace_id, checkpoint_id, container, options_.pipeline.compression.algorithm,
                             options_.pipeline.encryption_key.has_value());
}

Result<std::unique_ptr<ByteSource>> CheckpointStore::follow_archive(const std::string& workspace_id,
                                                                    const std::string& checkpoint_id,
                                                                    const std::string& container,
                                                                    const FollowOptions& follow,
                                                                    const OperationContext& ctx, FollowGate gate) {
  for (auto st : {validate_name(workspace_id, "workspace id"), validate_name(checkpoint_id, "checkpoint id"),
                  validate_name(container, "container name"), check_authenticated()}) {
    if (!st) return st.error();
  }
  return open_following(objects_, archive_key(workspace_id, checkpoint_id, container), options_.pipeline, follow,
                        ctx, "download", std::move(gate));
}

Result<std::vector<CheckpointListing>> CheckpointStore::list_checkpoints(const std::string& workspace_id) {
  auto st = validate_name(workspace_id, "workspace id");
  if (!st) return st.error();
  std::string prefix = layout::checkpoints_prefix(workspace_id);
  auto objects = objects_.list(prefix);
  if (!objects) return objects.error();
  std::map<std::string, CheckpointListing> by_id;
  for (const auto& o : *objects) {
    std::string rest = o.key.substr(prefix.size());
    auto slash = rest.find('/');
    if (slash == std::string::npos) continue;
    auto& entry = by_id[rest.substr(0, slash)];
    entry.checkpoint_id = rest.substr(0, slash);
    entry.objects++;
    entry.stored_bytes += o.size;
    if (rest.substr(slash + 1) == layout::kManifestName) entry.complete = true;
  }
  std::vector<CheckpointListing> out;
  for (auto& [id, entry] : by_id) out.push_back(std::move(entry));
  return out;
}

Status CheckpointStore::delete_checkpoint(const std::string& workspace_id, const std::string& checkpoint_id) {
  for (auto st : {validate_name(workspace_id, "workspace id"), validate_name(checkpoint_id, "checkpoint id")}) {
    if (!st) return st;
  }
  auto st = objects_.remove(layout::manifest_key(workspace_id, checkpoint_id));
  if (!st) return st;
  auto objects = objects_.list(layout::checkpoint_prefix(workspace_id, checkpoint_id));
  if (!objects) return objects.error();
  for (const auto& o : *objects) {
    st = objects_.remove(o.key);
    if (!st) return st;
  }
  return Ok{};
}

}  // namespace wscp::store
