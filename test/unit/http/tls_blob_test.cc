// The client's in-memory PEM options (ca_pem, client_cert_pem,
// client_key_pem) against a TLS server in this process that demands a client
// certificate: certificates are made here with OpenSSL.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "http/client.h"

using namespace wscp;

namespace {

struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertDeleter {
  void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using Cert = std::unique_ptr<X509, CertDeleter>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("openssl: ") + what);
}

Key make_key() {
  Key k(EVP_EC_gen("P-256"));
  check(k != nullptr, "EVP_EC_gen");
  return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `cn`, signed by (issuer, issuer_key), or self-signed.
Cert make_cert(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, bool ca,
               const char* san = nullptr) {
  Cert c(X509_new());
  X509_set_version(c.get(), 2);
  static std::atomic<long> serial{1};
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 3600);
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                             -1, 0);
  X509* signer = issuer ? issuer : c.get();
  X509_set_issuer_name(c.get(), X509_get_subject_name(signer));
  add_ext(c.get(), signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (san) add_ext(c.get(), signer, NID_subject_alt_name, san);
  check(X509_sign(c.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
  return c;
}

std::string pem(X509* cert) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

std::string pem(EVP_PKEY* key) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

struct Pki {
  explicit Pki(const std::string& ca_name = "test-ca") : ca(make_cert(ca_name, ca_key.get(), nullptr, nullptr, true)) {}
  Key ca_key = make_key();
  Cert ca;
  Key server_key = make_key();
  Cert server = make_cert("127.0.0.1", server_key.get(), ca.get(), ca_key.get(), false, "IP:127.0.0.1");
  Key client_key = make_key();
  Cert client = make_cert("alice", client_key.get(), ca.get(), ca_key.get(), false);
};

// Serves HTTPS on a loopback port, requires a client certificate from the CA
// and answers 200 with the client's common name.
class TlsServer {
 public:
  explicit TlsServer(const Pki& pki) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ctx_, pki.server.get());
    SSL_CTX_use_PrivateKey(ctx_, pki.server_key.get());
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), pki.ca.get());
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "bind");
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/whoami"; }

 private:
  void serve() {
    for (;;) {
      int conn = ::accept(fd_, nullptr, nullptr);
      if (conn < 0) return;
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, conn);
      if (SSL_accept(ssl) == 1) {
        std::string request;
        char buf[1024];
        while (request.find("\r\n\r\n") == std::string::npos) {
          int n = SSL_read(ssl, buf, sizeof buf);
          if (n <= 0) break;
          request.append(buf, static_cast<std::size_t>(n));
        }
        std::string who = "none";
        if (X509* peer = SSL_get1_peer_certificate(ssl)) {
          char cn[256] = {};
          X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
          who = cn;
          X509_free(peer);
        }
        std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(who.size()) +
                             "\r\nConnection: close\r\n\r\n" + who;
        SSL_write(ssl, answer.data(), static_cast<int>(answer.size()));
        SSL_shutdown(ssl);
      }
      ERR_clear_error();
      SSL_free(ssl);
      ::close(conn);
    }
  }

  SSL_CTX* ctx_ = nullptr;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

http::Request get(const std::string& url) {
  http::Request r;
  r.url = url;
  r.timeout = std::chrono::milliseconds(10'000);
  return r;
}

}  // namespace

TEST_CASE("in-memory PEM: CA, client certificate and key are used for mutual TLS") {
  Pki pki;
  TlsServer server(pki);
  http::ClientConfig config;
  config.ca_pem = pem(pki.ca.get());
  config.client_cert_pem = pem(pki.client.get());
  config.client_key_pem = pem(pki.client_key.get());
  auto client = http::make_curl_client(config);
  auto r = client->send(get(server.url()));
  REQUIRE_MESSAGE(r.ok(), r.error().describe());
  CHECK(r->status == 200);
  CHECK(r->body == "alice");
}

TEST_CASE("in-memory PEM: a server signed by another CA is refused") {
  Pki pki;
  Pki other("other-ca");
  TlsServer server(pki);
  http::ClientConfig config;
  config.ca_pem = pem(other.ca.get());
  config.client_cert_pem = pem(pki.client.get());
  config.client_key_pem = pem(pki.client_key.get());
  auto r = http::make_curl_client(config)->send(get(server.url()));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kPermissionDenied);
}

TEST_CASE("in-memory PEM: without a client certificate the server refuses the handshake") {
  Pki pki;
  TlsServer server(pki);
  http::ClientConfig config;
  config.ca_pem = pem(pki.ca.get());
  auto r = http::make_curl_client(config)->send(get(server.url()));
  CHECK_FALSE(r.ok());
}

TEST_CASE("in-memory PEM: a key that does not match the certificate is an error") {
  Pki pki;
  TlsServer server(pki);
  http::ClientConfig config;
  config.ca_pem = pem(pki.ca.get());
  config.client_cert_pem = pem(pki.client.get());
  config.client_key_pem = pem(pki.server_key.get());
  auto r = http::make_curl_client(config)->send(get(server.url()));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message().find("127.0.0.1") != std::string::npos);
}
