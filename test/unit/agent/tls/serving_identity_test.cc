#include "agent/tls/serving_identity.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "agent/tls/certificate.h"
#include "common/fake_clock.h"
#include "testing/temp_dir.h"

using namespace wscp;
using namespace wscp::agent::tls;

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

// A clock at the real time (certificates are checked against it).
class WallClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point wall_now() const override { return std::chrono::system_clock::now() + skew; }
  void sleep_for(std::chrono::milliseconds) override {}
  std::chrono::hours skew{0};
};

ServingIdentityOptions options(const agent::testing::TempDir& dir) {
  ServingIdentityOptions o;
  o.key_path = dir.file("tls/serving.key");
  o.cert_path = dir.file("tls/serving.crt");
  o.common_name = "node-1";
  o.names = {"node-1", "127.0.0.1"};
  return o;
}

}  // namespace

TEST_CASE("the agent makes its own key (0600) and a self-signed certificate, and publishes their hashes") {
  agent::testing::TempDir dir;
  WallClock clock;
  auto id = ensure_serving_identity(options(dir), clock);
  REQUIRE_MESSAGE(id.ok(), (id.ok() ? "" : id.error().message()));
  CHECK(id->key_created);
  CHECK(id->cert_created);
  CHECK(mode_of(id->key_path) == 0600);
  CHECK(mode_of(id->cert_path) == 0644);
  CHECK(read(id->cert_path) == id->cert_pem);
  auto cert = parse_certificate(id->cert_pem);
  auto key = parse_private_key(read(id->key_path));
  REQUIRE((cert.ok() && key.ok()));
  CHECK(key_matches(cert->get(), key->get()));
  CHECK(EVP_PKEY_get_bits(key->get()) == 256);
  CHECK(names_all_present(cert->get(), {"node-1", "127.0.0.1"}));
  CHECK(id->certificate_sha256 == *certificate_sha256_fingerprint(id->cert_pem));
  CHECK(id->public_key_pin == *public_key_pin_sha256(id->cert_pem));
}

TEST_CASE("a restarted agent keeps its key and certificate; a renewal keeps the key (and its pin)") {
  agent::testing::TempDir dir;
  WallClock clock;
  auto first = ensure_serving_identity(options(dir), clock);
  REQUIRE(first.ok());
  auto second = ensure_serving_identity(options(dir), clock);
  REQUIRE(second.ok());
  CHECK_FALSE(second->key_created);
  CHECK_FALSE(second->cert_created);
  CHECK(second->certificate_sha256 == first->certificate_sha256);

  // Near the end of its validity the certificate is renewed, for the same key.
  clock.skew = std::chrono::hours(24 * 340);
  auto renewed = ensure_serving_identity(options(dir), clock);
  REQUIRE(renewed.ok());
  CHECK(renewed->cert_created);
  CHECK_FALSE(renewed->key_created);
  CHECK(renewed->public_key_pin == first->public_key_pin);
  CHECK(renewed->certificate_sha256 != first->certificate_sha256);

  // A new name calls for a new certificate too.
  clock.skew = std::chrono::hours(0);
  auto o = options(dir);
  o.names.push_back("node-1.example");
  auto named = ensure_serving_identity(o, clock);
  REQUIRE(named.ok());
  CHECK(named->cert_created);
  CHECK(names_all_present(parse_certificate(named->cert_pem)->get(), {"node-1.example"}));
}

TEST_CASE("with a signing CA the certificate is signed by it, and a self-signed one is replaced") {
  agent::testing::TempDir dir;
  WallClock clock;
  REQUIRE(ensure_serving_identity(options(dir), clock).ok());  // self-signed first
  auto ca_key = generate_ec_p256_key();
  CertificateSpec s;
  s.common_name = "wscp-ca";
  s.ca = true;
  s.not_before = std::chrono::system_clock::now() - std::chrono::hours(1);
  s.not_after = std::chrono::system_clock::now() + std::chrono::hours(24 * 3650);
  auto ca = make_certificate(s, ca_key->get(), nullptr, nullptr);
  auto o = options(dir);
  o.signing_ca_cert_path = dir.write("ca.crt", to_pem(ca->get()));
  o.signing_ca_key_path = dir.write("ca.key", to_pem(ca_key->get()));
  auto id = ensure_serving_identity(o, clock);
  REQUIRE_MESSAGE(id.ok(), (id.ok() ? "" : id.error().message()));
  CHECK(id->cert_created);
  CHECK(signed_by(parse_certificate(id->cert_pem)->get(), ca->get()));
}

TEST_CASE("a key file open to other users is refused with the fix; a CA key of another CA too") {
  agent::testing::TempDir dir;
  WallClock clock;
  auto o = options(dir);
  REQUIRE(ensure_serving_identity(o, clock).ok());
  ::chmod(o.key_path.c_str(), 0644);
  auto loose = ensure_serving_identity(o, clock);
  REQUIRE_FALSE(loose.ok());
  CHECK(loose.error().code() == ErrorCode::kPermissionDenied);
  CHECK(loose.error().message().find("chmod 600 " + o.key_path) != std::string::npos);

  ::chmod(o.key_path.c_str(), 0600);
  auto k1 = generate_ec_p256_key();
  auto k2 = generate_ec_p256_key();
  CertificateSpec s;
  s.common_name = "ca";
  s.not_before = std::chrono::system_clock::now();
  s.not_after = s.not_before + std::chrono::hours(1);
  auto ca = make_certificate(s, k1->get(), nullptr, nullptr);
  o.signing_ca_cert_path = dir.write("ca.crt", to_pem(ca->get()));
  o.signing_ca_key_path = dir.write("other.key", to_pem(k2->get()));
  auto mismatch = ensure_serving_identity(o, clock);
  REQUIRE_FALSE(mismatch.ok());
  CHECK(mismatch.error().message().find("does not belong") != std::string::npos);
}
