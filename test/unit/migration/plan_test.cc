#include "migration/plan.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

namespace wscp::migration {
namespace {

store::EncryptionKey key_of(std::uint8_t fill) {
  std::array<std::uint8_t, 32> bytes{};
  bytes.fill(fill);
  return store::make_key(bytes);
}

store::Keyring ring_of(std::vector<store::EncryptionKey> keys) { return store::Keyring(std::move(keys)); }
const store::Keyring kNoKeys;

const std::string kImage = "sha256:" + std::string(64, 'a');

Plan sample_plan() {
  Plan p;
  p.checkpoint_id = "20261130T100000Z-0a1b2c3d";
  p.workspace_id = "ws-1";
  p.source_node = "node-1";
  p.created_at = "2026-11-30T10:00:00Z";
  p.primary = "dev";
  podman::ContainerInfo c;
  c.id = std::string(64, 'c');
  c.name = "dev";
  c.image_id = kImage;
  c.image_name = "localhost/wscp-testbox:latest";
  c.oci_runtime = "crun";
  c.labels = {{"dev.containers.id", "ws-1"}};
  c.networks = {"podman"};
  p.containers = {c};
  p.checkpoint.tcp_established = true;
  p.restore.tcp_established = true;
  return p;
}

}  // namespace

TEST_CASE("a plan survives its round trip, authenticated") {
  auto key = key_of(1);
  auto back = parse_plan(serialize_plan(sample_plan(), &key), ring_of({key}));
  REQUIRE_MESSAGE(back.ok(), back.error().describe());
  CHECK(back->checkpoint_id == "20261130T100000Z-0a1b2c3d");
  REQUIRE(back->containers.size() == 1);
  CHECK(back->containers[0].image_id == kImage);
  CHECK(back->containers[0].labels.at("dev.containers.id") == "ws-1");
  CHECK(back->checkpoint.tcp_established);
  CHECK(back->restore.tcp_established);
  CHECK_FALSE(back->restore.name.has_value());
}

TEST_CASE("a plan signed with an older key of the ring still verifies") {
  auto old_key = key_of(1);
  auto new_key = key_of(2);
  auto back = parse_plan(serialize_plan(sample_plan(), &old_key), ring_of({new_key, old_key}));
  REQUIRE_MESSAGE(back.ok(), back.error().describe());
}

TEST_CASE("a plan is refused when its authentication does not hold") {
  auto key = key_of(1);
  auto other = key_of(2);
  const std::string signed_text = serialize_plan(sample_plan(), &key);

  auto wrong_key = parse_plan(signed_text, ring_of({other}));
  REQUIRE_FALSE(wrong_key.ok());
  CHECK(wrong_key.error().code() == ErrorCode::kPermissionDenied);

  auto unsigned_but_key = parse_plan(serialize_plan(sample_plan(), nullptr), ring_of({key}));
  REQUIRE_FALSE(unsigned_but_key.ok());
  CHECK(unsigned_but_key.error().code() == ErrorCode::kIntegrity);

  auto signed_no_key = parse_plan(signed_text, kNoKeys);
  REQUIRE_FALSE(signed_no_key.ok());
  CHECK(signed_no_key.error().code() == ErrorCode::kPermissionDenied);

  // Another container name, with the original MAC: altered.
  std::string tampered = signed_text;
  tampered.replace(tampered.find("\"dev\""), 5, "\"evi\"");
  auto altered = parse_plan(tampered, ring_of({key}));
  REQUIRE_FALSE(altered.ok());
  CHECK(altered.error().code() == ErrorCode::kIntegrity);
  CHECK(altered.error().message().find("altered") != std::string::npos);
}

TEST_CASE("a plan's fields are validated") {
  struct Case {
    const char* what;
    void (*change)(Plan&);
    const char* expect;
  };
  const Case cases[] = {
      {"no containers", [](Plan& p) { p.containers.clear(); }, "names no container"},
      {"traversal in a name", [](Plan& p) { p.containers[0].name = "../x"; }, "container name"},
      {"bad image id", [](Plan& p) { p.containers[0].image_id = "latest"; }, "sha256"},
      {"duplicate", [](Plan& p) { p.containers.push_back(p.containers[0]); p.project = "proj"; }, "listed twice"},
      {"primary missing", [](Plan& p) { p.primary = "other"; }, "primary"},
      {"leaveRunning", [](Plan& p) { p.checkpoint.leave_running = true; }, "leaveRunning"},
      {"new name with tcp", [](Plan& p) { p.restore.name = "n2"; }, "tcpEstablished"},
      {"no node", [](Plan& p) { p.source_node.clear(); }, "source node"},
  };
  for (const auto& c : cases) {
    Plan p = sample_plan();
    c.change(p);
    auto st = validate_plan(p);
    REQUIRE_MESSAGE(!st.ok(), c.what);
    CHECK_MESSAGE(st.error().message().find(c.expect) != std::string::npos, st.error().message());
    // The parser applies the same checks to what it reads back.
    CHECK_FALSE(parse_plan(serialize_plan(p, nullptr), kNoKeys).ok());
  }
}

TEST_CASE("malformed plan text is refused without throwing") {
  for (std::string text : {std::string("{"), std::string("[]"), std::string("{\"version\": 7}"),
                           std::string("{\"version\": 1}"), std::string("{\"version\": \"1\"}")}) {
    auto r = parse_plan(text, kNoKeys);
    CHECK_FALSE(r.ok());
  }
  nlohmann::json j = nlohmann::json::parse(serialize_plan(sample_plan(), nullptr));
  j["containers"][0]["labels"] = 5;
  auto r = parse_plan(j.dump(), kNoKeys);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message().find("malformed") != std::string::npos);
}

}  // namespace wscp::migration
