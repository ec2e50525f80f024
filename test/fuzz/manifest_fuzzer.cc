// libFuzzer target for every parser of untrusted input on the read path:
// the checkpoint manifest (without a key, and with one, as read_manifest
// parses it), the image metadata and segment objects (data + trailer) read
// back (with and without a key), and S3's XML answers and timestamps.
// Whatever the bytes, each returns a value or an error; a value it accepts
// passes the same checks as what wscp writes.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "store/checkpoint_store.h"
#include "store/layout.h"
#include "store/manifest.h"
#include "store/segment.h"
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
    const std::string image_id = "sha256:" + std::string(64, 'a');
    auto image = parse_image_meta(text, image_id, ring);
    if (image.ok() && (image->id != image_id ||
                       !validate_archive_object(image->archive, layout::image_key(image_id) + "/").ok())) {
      std::abort();
    }
    // A whole segment object (data + trailer): what it accepts is consistent.
    auto segment = parse_segment(std::as_bytes(std::span(text.data(), text.size())), ring, "segment");
    if (segment.ok() && (segment->data_size > text.size() || segment->trailer.size != segment->data_size ||
                         segment->trailer.last != segment->trailer.totals.has_value() ||
                         sha256_hex(std::string_view(text).substr(0, segment->data_size)) != segment->trailer.sha256)) {
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
  return 0;
}
