#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "agent/tls/openssl_ptr.h"
#include "common/result.h"

namespace wscp::agent::tls {

// PEM in, OpenSSL objects out; a PEM that does not parse is kInvalidArgument.
Result<KeyPtr> parse_private_key(std::string_view pem);
Result<CertPtr> parse_certificate(std::string_view pem);
std::string to_pem(EVP_PKEY* key);  // PKCS#8, unencrypted
std::string to_pem(X509* cert);

// A fresh EC P-256 key.
Result<KeyPtr> generate_ec_p256_key();

// What a certificate should say.
struct CertificateSpec {
  std::string common_name;
  std::vector<std::string> names;  // subjectAltName entries: DNS names or IP addresses
  bool server = true;              // extendedKeyUsage serverAuth (else clientAuth)
  bool ca = false;                 // a CA certificate (CA:TRUE, keyCertSign) instead of a leaf
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
};

// A certificate for `key` signed by (issuer, issuer_key), or self-signed
// when issuer is null. A leaf (CA:FALSE) unless spec.ca.
Result<CertPtr> make_certificate(const CertificateSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key);

// SHA-256 of the certificate's DER, lowercase hex with colons
// ("ab:cd:..."), as `openssl x509 -fingerprint -sha256` shows it.
Result<std::string> certificate_sha256_fingerprint(std::string_view cert_pem);
// "sha256//BASE64" of the certificate's SubjectPublicKeyInfo: what a client
// pins (libcurl's CURLOPT_PINNEDPUBLICKEY); stays the same while the key does.
Result<std::string> public_key_pin_sha256(std::string_view cert_pem);

// The certificate's subject common name ("" when it has none).
std::string common_name(X509* cert);
std::chrono::system_clock::time_point not_after(X509* cert);
bool key_matches(X509* cert, EVP_PKEY* key);
// True when every name (DNS or IP) is in the certificate's subjectAltName.
bool names_all_present(X509* cert, const std::vector<std::string>& names);
// True when `cert` names `issuer` as its issuer and carries its signature.
bool signed_by(X509* cert, X509* issuer);

}  // namespace wscp::agent::tls
