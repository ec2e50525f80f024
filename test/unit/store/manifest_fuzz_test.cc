// Bounded mutation fuzzing of the manifest parser (runs in the unit tests,
// and under ASan+UBSan in scripts/test): whatever the bytes, parsing returns
// a value or an error, never crashes, and never accepts a manifest whose
// MAC no longer matches.
#include <doctest/doctest.h>

#include <random>

#include "store/layout.h"
#include "store/manifest.h"

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
