// libFuzzer target for every parser of untrusted input on the read path:
// the checkpoint manifest (without a key, and with one, as read_manifest
// parses it), the descriptions NamedArchives and the image cache read back
// (with and without a key), S3's XML answers and timestamps, and the
// project manifest. Whatever the bytes, each returns a value or an error; a
// value it accepts passes the same checks as what wscp writes.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "podman/project.h"
#include "store/checkpoint_store.h"
#include "store/layout.h"
#include "store/manifest.h"
#include "store/named_archives.h"
#include "store/s3/http_time.h"
#include "store/s3/xml.h"

namespace {

const wscp::store::Keyring& keys() {
  static const wscp::store::Keyring ring = [] {
    std::array<std::uint8_t, 32> a{}, b{};
    a.fill(7);
    b.fill(9);
    return wscp::store::Keyring({wscp::store::make_key(a), wscp::store::make_key(b)});
  }();
  return ring;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace wscp::store;
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const Keyring& ring : {Keyring(), keys()}) {
    auto manifest = parse_manifest(text, ring);
    if (manifest.ok() && !validate_manifest(*manifest).ok()) std::abort();
    const std::string object_key = "spool/containers/web.tar";
    auto described = parse_archive_description(text, "containers/web.tar", object_key, ring);
    if (described.ok() && (described->key != object_key || !validate_archive_object(*described, object_key).ok())) {
      std::abort();
    }
    const std::string image_id = "sha256:" + std::string(64, 'a');
    auto image = parse_image_meta(text, image_id, ring);
    if (image.ok() && (image->id != image_id ||
                       !validate_archive_object(image->archive, layout::image_key(image_id) + "/").ok())) {
      std::abort();
    }
  }
  (void)s3::parse_error_answer(text);
  (void)s3::parse_initiate_upload(text);
  auto listing = s3::parse_list_objects(text);
  if (listing.ok() && listing->truncated && listing->next_token.empty()) std::abort();
  auto uploads = s3::parse_list_uploads(text);
  if (uploads.ok() && uploads->truncated && uploads->next_key_marker.empty()) std::abort();
  (void)s3::parse_complete_upload(text);
  (void)s3::parse_http_date(text);
  (void)s3::parse_iso8601(text);
  auto project = wscp::podman::parse_project_manifest(text);
  if (project.ok() && project->services.empty()) std::abort();
  return 0;
}
