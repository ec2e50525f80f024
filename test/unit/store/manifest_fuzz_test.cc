// Bounded mutation fuzzing of the manifest parser (runs in the unit tests,
// and under ASan+UBSan in scripts/test): whatever the bytes, parsing returns
// a value or an error, never crashes, and never accepts a manifest whose
// MAC no longer matches.
#include <doctest/doctest.h>

#include <random>

#include "store/checkpoint_store.h"
#include "store/layout.h"
#include "store/local_store.h"
#include "store/manifest.h"
#include "store/s3/xml.h"
#include "test_util.h"

using namespace wscp;
using namespace wscp::store;

namespace {

Manifest sample() {
  const std::string hex(64, 'a');
  Manifest m;
  m.checkpoint_id = "c1";
  m.workspace_id = "ws1";
  m.node = "node-1";
  m.created_at = "2026-11-23T09:41:00Z";
  ContainerEntry c;
  c.name = "dev";
  c.archive.key = layout::archive_key("ws1", "c1", "dev", Compression::kZstd, false);
  c.archive.compression = Compression::kZstd;
  c.archive.stored = StreamDigests{10, hex, 8, {hex, hex}};
  c.archive.plain_sha256 = hex;
  c.facts = nlohmann::json{{"mounts", nlohmann::json::array({"/a", "/b"})}, {"n", 1.5}};
  m.containers.push_back(c);
  return m;
}

}  // namespace

TEST_CASE("manifest parser survives mutated input") {
  std::array<std::uint8_t, 32> kb{};
  kb.fill(7);
  auto key = make_key(kb);
  const std::string signed_text = serialize_manifest(sample(), &key);
  const std::string plain_text = serialize_manifest(sample(), nullptr);
  const std::string alphabet = "{}[]\":,0123456789-.eE/\\ntruefalsnul \t\x01\xff";
  std::mt19937 rng(12345);
  int accepted_signed = 0;
  for (int round = 0; round < 4000; ++round) {
    const bool with_key = round % 2 == 0;
    std::string text = with_key ? signed_text : plain_text;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      std::size_t pos = rng() % (text.size() + 1);
      switch (rng() % 4) {
        case 0:
          if (pos < text.size()) text[pos] = alphabet[rng() % alphabet.size()];
          break;
        case 1: text.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
        case 2:
          if (pos < text.size()) text.erase(pos, 1 + rng() % 8);
          break;
        default: text = text.substr(0, pos); break;
      }
    }
    auto m = parse_manifest(text, with_key ? &key : nullptr);
    if (m) {
      CHECK(validate_manifest(*m));
      if (with_key) ++accepted_signed;
    } else {
      CHECK_FALSE(m.error().message().empty());
    }
  }
  // A signed manifest survives only edits to insignificant whitespace.
  MESSAGE("signed manifests still accepted after mutation: ", accepted_signed);
  CHECK(accepted_signed < 400);
}

namespace {

std::string mutate(std::string text, std::mt19937& rng) {
  const std::string alphabet = "{}[]\":,0123456789-.eE/\\ntruefalsnul<>&;#x \t\x01\xff";
  int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    std::size_t pos = rng() % (text.size() + 1);
    switch (rng() % 4) {
      case 0:
        if (pos < text.size()) text[pos] = alphabet[rng() % alphabet.size()];
        break;
      case 1: text.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
      case 2:
        if (pos < text.size()) text.erase(pos, 1 + rng() % 8);
        break;
      default: text = text.substr(0, pos); break;
    }
  }
  return text;
}

}  // namespace

TEST_CASE("the other read-path parsers survive mutated input") {
  std::array<std::uint8_t, 32> kb{};
  kb.fill(7);
  const Keyring ring({make_key(kb)});
  // Seeds as wscp writes them: signed image metadata and S3 listings.
  testing::TempDir dir;
  auto objects = make_local_store(dir.path.string());
  CheckpointStoreOptions o;
  o.pipeline.encryption_key = make_key(kb);
  OperationContext ctx;
  CheckpointStore store(*objects, o);
  const std::string image_id = "sha256:" + std::string(64, 'a');
  StringSource image(std::string(5000, 'i'));
  REQUIRE(store.put_image(image_id, {"localhost/x:latest"}, "oci-archive", image, ctx));
  const std::string meta = *get_object(*objects, layout::image_key(image_id) + "/meta.json", 1 << 20, ctx);
  REQUIRE(parse_image_meta(meta, image_id, ring));
  const std::string listing =
      "<ListBucketResult><Contents><Key>a/b</Key><LastModified>2026-11-23T09:41:00.000Z</LastModified>"
      "<ETag>\"e\"</ETag><Size>12</Size></Contents><IsTruncated>true</IsTruncated>"
      "<NextContinuationToken>t</NextContinuationToken></ListBucketResult>";
  REQUIRE(s3::parse_list_objects(listing));

  std::mt19937 rng(777);
  int accepted_signed = 0;
  for (int round = 0; round < 3000; ++round) {
    auto m = parse_image_meta(mutate(meta, rng), image_id, ring);
    if (m) {
      ++accepted_signed;
      CHECK(validate_archive_object(m->archive, layout::image_key(image_id) + "/"));
    } else {
      CHECK_FALSE(m.error().message().empty());
    }
    auto l = s3::parse_list_objects(mutate(listing, rng));
    if (l && l->truncated) CHECK_FALSE(l->next_token.empty());
  }
  // Signed texts survive only edits to insignificant whitespace.
  CHECK(accepted_signed < 300);
}
