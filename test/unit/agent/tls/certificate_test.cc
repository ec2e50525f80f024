#include "agent/tls/certificate.h"

#include <doctest/doctest.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

using namespace wscp;
using namespace wscp::agent::tls;
using std::chrono::system_clock;

namespace {

CertificateSpec spec(std::string cn, std::vector<std::string> names = {}, bool ca = false) {
  CertificateSpec s;
  s.ca = ca;
  s.common_name = std::move(cn);
  s.names = std::move(names);
  s.not_before = system_clock::now() - std::chrono::minutes(1);
  s.not_after = system_clock::now() + std::chrono::hours(24);
  return s;
}

}  // namespace

TEST_CASE("a self-signed serving certificate names its key, its names and nothing else") {
  auto key = generate_ec_p256_key();
  REQUIRE(key.ok());
  auto cert = make_certificate(spec("node-1", {"node-1.example", "127.0.0.1", "::1"}), key->get(), nullptr, nullptr);
  REQUIRE_MESSAGE(cert.ok(), (cert.ok() ? "" : cert.error().message()));
  CHECK(common_name(cert->get()) == "node-1");
  CHECK(key_matches(cert->get(), key->get()));
  CHECK(names_all_present(cert->get(), {"node-1.example", "127.0.0.1", "::1"}));
  CHECK(names_all_present(cert->get(), {"NODE-1.example"}));
  CHECK_FALSE(names_all_present(cert->get(), {"node-2.example"}));
  CHECK_FALSE(names_all_present(cert->get(), {"127.0.0.2"}));
  CHECK(X509_check_ca(cert->get()) == 0);  // never a CA
  CHECK(signed_by(cert->get(), cert->get()));
}

TEST_CASE("a certificate signed by a CA verifies against it and not against another") {
  auto ca_key = generate_ec_p256_key();
  auto other_key = generate_ec_p256_key();
  auto key = generate_ec_p256_key();
  REQUIRE((ca_key.ok() && other_key.ok() && key.ok()));
  auto ca = make_certificate(spec("ca", {}, true), ca_key->get(), nullptr, nullptr);
  auto other = make_certificate(spec("other", {}, true), other_key->get(), nullptr, nullptr);
  auto leaf = make_certificate(spec("node-1", {"node-1"}), key->get(), ca->get(), ca_key->get());
  REQUIRE(leaf.ok());
  CHECK(signed_by(leaf->get(), ca->get()));
  CHECK_FALSE(signed_by(leaf->get(), other->get()));
  CHECK(X509_check_ca(ca->get()) == 1);
  // OpenSSL's own chain verification agrees.
  std::unique_ptr<X509_STORE, OpenSslDeleter> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca->get());
  std::unique_ptr<X509_STORE_CTX, OpenSslDeleter> ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf->get(), nullptr);
  CHECK(X509_verify_cert(ctx.get()) == 1);
}

TEST_CASE("fingerprint and pin are SHA-256 of the certificate and of its public key") {
  auto key = generate_ec_p256_key();
  auto cert = make_certificate(spec("node-1"), key->get(), nullptr, nullptr);
  const std::string pem = to_pem(cert->get());
  // Independently: hash the DER.
  unsigned char* der = nullptr;
  int len = i2d_X509(cert->get(), &der);
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<std::size_t>(len), md);
  OPENSSL_free(der);
  char hex[4];
  std::snprintf(hex, sizeof hex, "%02x", md[0]);
  auto fp = certificate_sha256_fingerprint(pem);
  REQUIRE(fp.ok());
  CHECK(fp->size() == 32 * 3 - 1);
  CHECK(fp->substr(0, 2) == hex);
  auto pin = public_key_pin_sha256(pem);
  REQUIRE(pin.ok());
  CHECK(pin->starts_with("sha256//"));
  CHECK(pin->size() == 8 + 44);
  // Another certificate for the same key has the same pin, another fingerprint.
  auto again = make_certificate(spec("node-1b"), key->get(), nullptr, nullptr);
  CHECK(*public_key_pin_sha256(to_pem(again->get())) == *pin);
  CHECK(*certificate_sha256_fingerprint(to_pem(again->get())) != *fp);
}

TEST_CASE("PEM that does not parse is refused as invalid") {
  CHECK(parse_certificate("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").error().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(parse_private_key("nothing").error().code() == ErrorCode::kInvalidArgument);
  CHECK_FALSE(certificate_sha256_fingerprint("garbage").ok());
  auto key = generate_ec_p256_key();
  CHECK_FALSE(make_certificate(spec("n", {"bad name,DNS:evil"}), key->get(), nullptr, nullptr).ok());
}
