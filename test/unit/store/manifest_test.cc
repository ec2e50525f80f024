#include "store/manifest.h"

#include <doctest/doctest.h>

#include "store/layout.h"

using namespace wscp;
using namespace wscp::store;
using nlohmann::json;

namespace {

const std::string kHex(64, 'a');

Manifest sample() {
  Manifest m;
  m.checkpoint_id = "20261123T094100Z-1a2b3c4d";
  m.workspace_id = "ws1";
  m.node = "node-1";
  m.created_at = "2026-11-23T09:41:00Z";
  ContainerEntry c;
  c.name = "dev";
  c.image_id = "sha256:" + kHex;
  c.archive.key = layout::archive_key(m.workspace_id, m.checkpoint_id, "dev", Compression::kZstd, false);
  c.archive.compression = Compression::kZstd;
  c.archive.compression_level = 3;
  c.archive.stored = StreamDigests{10, kHex, 8, {kHex, kHex}};
  c.archive.plain_size = 20;
  c.archive.plain_sha256 = kHex;
  c.facts = json{{"runtime", "crun"}, {"networks", json::array({"podman"})}};
  m.containers.push_back(c);
  ImageBlob img;
  img.id = "sha256:" + kHex;
  img.names = {"localhost/wscp-testbox:latest"};
  img.format = "oci-archive";
  img.archive = c.archive;
  img.archive.key = layout::image_key(img.id) + "/blob-01";
  m.images.push_back(img);
  m.facts = json{{"primary", "dev"}};
  return m;
}

EncryptionKey key_of(char fill) {
  std::array<std::uint8_t, 32> b{};
  b.fill(static_cast<std::uint8_t>(fill));
  return make_key(b);
}

json sample_json() { return json::parse(serialize_manifest(sample(), nullptr)); }

Error parse_error(const json& j, const EncryptionKey* key = nullptr) {
  auto m = parse_manifest(j.dump(), key);
  REQUIRE_FALSE(m);
  return m.error();
}

}  // namespace

TEST_CASE("manifest round trips, facts included") {
  auto text = serialize_manifest(sample(), nullptr);
  auto m = parse_manifest(text, nullptr);
  REQUIRE_MESSAGE(m, (m ? "" : m.error().describe()));
  CHECK(m->containers.at(0).facts.at("runtime") == "crun");
  CHECK(m->images.at(0).names.at(0) == "localhost/wscp-testbox:latest");
  CHECK(m->containers.at(0).archive.stored.parts.size() == 2);
  CHECK(json(*m) == json(sample()));
}

TEST_CASE("an authenticated manifest verifies and refuses any change") {
  auto key = key_of('m');
  auto text = serialize_manifest(sample(), &key);
  auto m = parse_manifest(text, &key);
  REQUIRE(m);
  CHECK(m->auth->key_id == key.id);

  auto j = json::parse(text);
  j["node"] = "node-evil";
  CHECK(parse_error(j, &key).code() == ErrorCode::kIntegrity);

  auto other = key_of('x');
  CHECK(parse_error(json::parse(text), &other).code() == ErrorCode::kPermissionDenied);
  CHECK(parse_error(json::parse(text)).code() == ErrorCode::kPermissionDenied);  // key missing

  auto stripped = json::parse(text);
  stripped.erase("auth");
  CHECK(parse_error(stripped, &key).code() == ErrorCode::kIntegrity);  // downgrade refused
}

TEST_CASE("hostile manifests give clear errors") {
  CHECK(parse_manifest("", nullptr).error().message().find("not valid JSON") != std::string::npos);
  CHECK(parse_manifest("[1,2]", nullptr).error().code() == ErrorCode::kInvalidArgument);
  CHECK(parse_manifest("{}", nullptr).error().message().find("version") != std::string::npos);

  auto j = sample_json();
  j["version"] = 3;
  auto e = parse_error(j);
  CHECK(e.code() == ErrorCode::kUnsupported);
  CHECK(e.message().find("upgrade") != std::string::npos);

  j = sample_json();
  j.erase("checkpoint_id");
  CHECK(parse_error(j).message().find("checkpoint_id") != std::string::npos);

  j = sample_json();
  j["containers"][0]["archive"]["stored"]["size"] = "ten";
  CHECK(parse_error(j).code() == ErrorCode::kInvalidArgument);

  j = sample_json();
  j["containers"][0]["archive"]["compression"] = "lzma";
  CHECK(parse_error(j).message().find("lzma") != std::string::npos);
}

TEST_CASE("keys and names with traversal or absolute paths are refused") {
  auto set_key = [](const std::string& key) {
    auto j = sample_json();
    j["containers"][0]["archive"]["key"] = key;
    return parse_error(j).message();
  };
  CHECK(set_key("/etc/passwd").find("absolute") != std::string::npos);
  CHECK(set_key("workspaces/ws1/checkpoints/20261123T094100Z-1a2b3c4d/../../x").find("traversal") !=
        std::string::npos);
  CHECK(set_key("workspaces/other/checkpoints/x/dev.tar").find("outside") != std::string::npos);
  CHECK(set_key("workspaces/ws1//x").find("empty") != std::string::npos);

  auto j = sample_json();
  j["containers"][0]["name"] = "../dev";
  CHECK(parse_error(j).message().find("container name") != std::string::npos);
  j = sample_json();
  j["workspace_id"] = "..";
  CHECK(parse_error(j).code() == ErrorCode::kInvalidArgument);
  j = sample_json();
  j["containers"].push_back(j["containers"][0]);
  CHECK(parse_error(j).message().find("twice") != std::string::npos);
  j = sample_json();
  j["images"][0]["archive"]["key"] = "images/sha256/" + std::string(64, 'b') + "/blob";
  CHECK(parse_error(j).code() == ErrorCode::kInvalidArgument);
  j = sample_json();
  j["containers"][0]["archive"]["stored"]["parts"] = json::array({kHex});
  CHECK(parse_error(j).message().find("part") != std::string::npos);
  j = sample_json();
  j["containers"][0]["archive"]["plain_sha256"] = "zz";
  CHECK(parse_error(j).code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("layout names") {
  CHECK(layout::manifest_key("ws", "c1") == "workspaces/ws/checkpoints/c1/manifest.json");
  CHECK(layout::archive_key("ws", "c1", "dev", Compression::kZstd, true) ==
        "workspaces/ws/checkpoints/c1/dev.tar.zst.enc");
  CHECK(layout::image_key("sha256:" + kHex) == "images/sha256/" + kHex);
  CHECK(validate_name("a.b-c_d", "x"));
  CHECK(!validate_name(".hidden", "x"));
  CHECK(!validate_name("a/b", "x"));
  CHECK(!validate_image_digest("sha256:ABC"));
  auto id = make_checkpoint_id(std::chrono::system_clock::time_point{});
  CHECK(id.rfind("19700101T000000Z-", 0) == 0);
  CHECK(validate_name(id, "checkpoint id"));
}
