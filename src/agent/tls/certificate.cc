#include "agent/tls/certificate.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <strings.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <ctime>

namespace wscp::agent::tls {
namespace {

Error ssl_error(std::string_view what) {
  return Error(ErrorCode::kInternal, std::string(what) + ": " + openssl_errors());
}

BioPtr memory_bio(std::string_view text) {
  if (text.size() > static_cast<std::size_t>(INT_MAX)) return BioPtr();
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

bool parse_ip(const std::string& text, unsigned char* out, int& length) {
  if (inet_pton(AF_INET, text.c_str(), out) == 1) {
    length = 4;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), out) == 1) {
    length = 16;
    return true;
  }
  return false;
}

bool is_dns_name(const std::string& s) {
  return !s.empty() && s.size() <= 253 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

Status add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, OpenSslDeleter> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext) return ssl_error("certificate extension " + value);
  if (X509_add_ext(cert, ext.get(), -1) != 1) return ssl_error("adding certificate extension " + value);
  return Ok{};
}

std::string hex_colons(const unsigned char* data, unsigned int n) {
  std::string out;
  char buf[4];
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", data[i]);
    if (i) out += ':';
    out += buf;
  }
  return out;
}

}  // namespace

std::string openssl_errors() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text.empty() ? "no detail from OpenSSL" : text;
}

Result<KeyPtr> parse_private_key(std::string_view pem) {
  auto bio = memory_bio(pem);
  KeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return Error(ErrorCode::kInvalidArgument, "not a PEM private key: " + openssl_errors());
  return key;
}

Result<CertPtr> parse_certificate(std::string_view pem) {
  auto bio = memory_bio(pem);
  CertPtr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return Error(ErrorCode::kInvalidArgument, "not a PEM certificate: " + openssl_errors());
  return cert;
}

std::string to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(bio.get());
}

std::string to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return bio_text(bio.get());
}

Result<KeyPtr> generate_ec_p256_key() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return ssl_error("generating an EC P-256 key");
  return key;
}

Result<CertPtr> make_certificate(const CertificateSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  if (spec.common_name.empty() || spec.common_name.size() > 64) {
    return Error(ErrorCode::kInvalidArgument, "a certificate's common name must be 1 to 64 characters");
  }
  std::string san;
  for (const auto& n : spec.names) {
    unsigned char ip[16];
    int len = 0;
    if (parse_ip(n, ip, len)) san += (san.empty() ? "" : ",") + std::string("IP:") + n;
    else if (is_dns_name(n)) san += (san.empty() ? "" : ",") + std::string("DNS:") + n;
    else return Error(ErrorCode::kInvalidArgument, "not a DNS name or IP address for a certificate: \"" + n + "\"");
  }
  CertPtr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) return ssl_error("X509_new");
  // A random 127-bit serial (positive, unique in practice).
  std::unique_ptr<BIGNUM, OpenSslDeleter> bn(BN_new());
  if (!bn || BN_rand(bn.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()))) {
    return ssl_error("certificate serial number");
  }
  if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), std::chrono::system_clock::to_time_t(spec.not_before)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), std::chrono::system_clock::to_time_t(spec.not_after))) {
    return ssl_error("certificate validity");
  }
  if (X509_set_pubkey(cert.get(), key) != 1) return ssl_error("certificate public key");
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0) != 1) {
    return ssl_error("certificate subject");
  }
  X509* signer = issuer ? issuer : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1) return ssl_error("certificate issuer");
  std::vector<std::pair<int, std::string>> extensions = {
      {NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE"},
      {NID_key_usage, spec.ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"}};
  if (!spec.ca) extensions.push_back({NID_ext_key_usage, spec.server ? "serverAuth" : "clientAuth"});
  for (const auto& [nid, value] : extensions) {
    if (auto s = add_extension(cert.get(), signer, nid, value); !s) return s.error();
  }
  if (!san.empty()) {
    if (auto s = add_extension(cert.get(), signer, NID_subject_alt_name, san); !s) return s.error();
  }
  if (X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) <= 0) return ssl_error("signing the certificate");
  return cert;
}

Result<std::string> certificate_sha256_fingerprint(std::string_view cert_pem) {
  auto cert = parse_certificate(cert_pem);
  if (!cert) return cert.error();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert->get(), EVP_sha256(), md, &n) != 1) return ssl_error("certificate digest");
  return hex_colons(md, n);
}

Result<std::string> public_key_pin_sha256(std::string_view cert_pem) {
  auto cert = parse_certificate(cert_pem);
  if (!cert) return cert.error();
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(X509_get0_pubkey(cert->get()), &der);
  if (len <= 0) return ssl_error("encoding the public key");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  const int ok = EVP_Digest(der, static_cast<std::size_t>(len), md, &n, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  if (ok != 1) return ssl_error("public key digest");
  unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int b64_len = EVP_EncodeBlock(b64, md, static_cast<int>(n));
  return "sha256//" + std::string(reinterpret_cast<const char*>(b64), static_cast<std::size_t>(b64_len));
}

std::string common_name(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return "";
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, data);
  if (n < 0) return "";
  std::string cn(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  return cn;
}

std::chrono::system_clock::time_point not_after(X509* cert) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

bool key_matches(X509* cert, EVP_PKEY* key) { return X509_check_private_key(cert, key) == 1; }

bool names_all_present(X509* cert, const std::vector<std::string>& names) {
  std::unique_ptr<GENERAL_NAMES, OpenSslDeleter> sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (const auto& want : names) {
    unsigned char ip[16];
    int ip_len = 0;
    const bool is_ip = parse_ip(want, ip, ip_len);
    bool found = false;
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()) && !found; ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans.get(), i);
      if (is_ip && g->type == GEN_IPADD) {
        found = ASN1_STRING_length(g->d.iPAddress) == ip_len &&
                std::equal(ip, ip + ip_len, ASN1_STRING_get0_data(g->d.iPAddress));
      } else if (!is_ip && g->type == GEN_DNS) {
        const auto* d = reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName));
        found = static_cast<std::size_t>(ASN1_STRING_length(g->d.dNSName)) == want.size() &&
                strncasecmp(d, want.c_str(), want.size()) == 0;
      }
    }
    if (!found) return false;
  }
  return true;
}

bool signed_by(X509* cert, X509* issuer) {
  if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(issuer)) != 0) return false;
  EVP_PKEY* issuer_key = X509_get0_pubkey(issuer);
  return issuer_key != nullptr && X509_verify(cert, issuer_key) == 1;
}

}  // namespace wscp::agent::tls
