// ApiServer on cpprestsdk's http_listener (Boost.Asio + OpenSSL). Mutual
// TLS is enforced by the SSL context the listener asks for on every
// connection: verify_peer | verify_fail_if_no_peer_cert against the client
// CA, a verify callback for the allowed subjects. A connection whose
// handshake fails never yields a request (the tests prove it for no
// certificate, another CA, an expired certificate and a wrong subject).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <boost/asio/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <cpprest/http_listener.h>
#include <fstream>
#include <mutex>
#include <sstream>

#include "agent/api/api_server.h"
#include "agent/tls/certificate.h"

namespace wscp::agent::api {
namespace {

namespace listener = web::http::experimental::listener;
namespace ssl = boost::asio::ssl;
using std::chrono::steady_clock;

// Per-SSL flag: the verify callback refused this peer (so the alert that
// follows is not counted a second time), and the server a context serves.
int refused_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}
int server_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

Result<std::string> read_file(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kInvalidArgument, std::string(what) + " " + path + " cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string peer_address(const SSL* ssl) {
  const int fd = SSL_get_fd(ssl);
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (fd < 0 || ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "unknown";
  char host[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr, host, sizeof host);
  } else if (addr.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr, host, sizeof host);
  }
  return host;
}

// Strict Content-Length: digits only.
std::optional<std::uint64_t> parse_length(const std::string& text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

class CpprestApiServer final : public ApiServer {
 public:
  CpprestApiServer(ApiServerConfig config, Router router, std::shared_ptr<log::Logger> logger,
                   std::shared_ptr<metrics::AgentMetrics> metrics)
      : config_(std::move(config)),
        router_(std::move(router)),
        logger_(logger ? std::move(logger) : log::null_logger()),
        metrics_(std::move(metrics)) {}

  ~CpprestApiServer() override { stop(); }

  std::string url() const override {
    const bool v6 = config_.address.find(':') != std::string::npos;
    return "https://" + (v6 ? "[" + config_.address + "]" : config_.address) + ":" + std::to_string(config_.port);
  }

  Status start() override {
    if (auto s = load_credentials(); !s) return s;
    listener::http_listener_config cfg;
    cfg.set_ssl_context_callback([this](ssl::context& ctx) { configure_tls(ctx); });
    try {
      listener_ = std::make_unique<listener::http_listener>(web::uri(url() + "/"), cfg);
      listener_->support([this](web::http::http_request request) { handle(std::move(request)); });
      listener_->open().wait();
    } catch (const std::exception& e) {
      listener_.reset();
      return Error(ErrorCode::kUnavailable,
                   "cannot listen on " + url() + ": " + e.what() + " (is the port in use, or the address not this machine's?)");
    }
    logger_->info("API listening", {{"url", url()}, {"client_ca", config_.client_ca_file}});
    return Ok{};
  }

  void stop() override {
    if (!listener_) return;
    try {
      listener_->close().wait();
    } catch (const std::exception& e) {
      logger_->warning("API listener did not close cleanly", {{"error", e.what()}});
    }
    {
      std::unique_lock lock(in_flight_mutex_);
      in_flight_done_.wait(lock, [this] { return in_flight_ == 0; });
    }
    listener_.reset();
  }

 private:
  Status load_credentials() {
    auto cert = read_file(config_.cert_file, "serving certificate");
    if (!cert) return cert.error();
    auto key = read_file(config_.key_file, "serving key");
    if (!key) return key.error();
    auto ca = read_file(config_.client_ca_file, "client CA file");
    if (!ca) return ca.error();
    auto c = tls::parse_certificate(*cert);
    if (!c) return c.error().wrap("serving certificate " + config_.cert_file);
    auto k = tls::parse_private_key(*key);
    if (!k) return k.error().wrap("serving key " + config_.key_file);
    if (!tls::key_matches(c->get(), k->get())) {
      return Error(ErrorCode::kInvalidArgument,
                   "serving key " + config_.key_file + " does not belong to the certificate " + config_.cert_file);
    }
    // Every certificate in the CA file; at least one.
    std::vector<tls::CertPtr> cas;
    tls::BioPtr bio(BIO_new_mem_buf(ca->data(), static_cast<int>(ca->size())));
    while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) cas.emplace_back(x);
    ERR_clear_error();  // the end of the file reads as an error
    if (cas.empty()) {
      return Error(ErrorCode::kInvalidArgument, "client CA file " + config_.client_ca_file + " holds no PEM certificate");
    }
    cert_pem_ = std::move(*cert);
    key_pem_ = std::move(*key);
    ca_pem_ = std::move(*ca);
    client_cas_ = std::move(cas);
    return Ok{};
  }

  // Called by the listener for every new connection.
  void configure_tls(ssl::context& ctx) {
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    SSL_CTX* native = ctx.native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    ctx.use_certificate_chain(boost::asio::buffer(cert_pem_));
    ctx.use_private_key(boost::asio::buffer(key_pem_), ssl::context::pem);
    ctx.add_certificate_authority(boost::asio::buffer(ca_pem_));
    for (const auto& ca : client_cas_) SSL_CTX_add_client_CA(native, ca.get());  // named in the CertificateRequest
    static const unsigned char kSessionContext[] = "wscp-agent-api";
    SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
    ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    ctx.set_verify_callback([this](bool preverified, ssl::verify_context& vc) { return verify(preverified, vc); });
    SSL_CTX_set_ex_data(native, server_index(), this);
    SSL_CTX_set_info_callback(native, &CpprestApiServer::on_tls_info);
  }

  bool verify(bool preverified, ssl::verify_context& vc) {
    X509_STORE_CTX* store = vc.native_handle();
    X509* cert = X509_STORE_CTX_get_current_cert(store);
    const std::string subject = cert ? tls::common_name(cert) : std::string();
    auto* ssl_conn = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    if (!preverified) {
      const int err = X509_STORE_CTX_get_error(store);
      const bool expired = err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID;
      refuse(ssl_conn, expired ? "expired" : "untrusted", X509_verify_cert_error_string(err), subject);
      return false;
    }
    if (X509_STORE_CTX_get_error_depth(store) == 0 && !config_.allowed_subjects.empty()) {
      bool allowed = false;
      for (const auto& s : config_.allowed_subjects) allowed = allowed || s == subject;
      if (!allowed) {
        X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
        refuse(ssl_conn, "subject", "subject CN is not among the allowed subjects", subject);
        return false;
      }
    }
    return true;
  }

  void refuse(SSL* ssl_conn, std::string_view reason, std::string_view detail, const std::string& subject) {
    if (ssl_conn) SSL_set_ex_data(ssl_conn, refused_index(), reinterpret_cast<void*>(1));
    if (metrics_) metrics_->api_tls_refusal(reason);
    logger_->info("API client certificate refused",
                  {{"reason", std::string(reason)},
                   {"detail", std::string(detail)},
                   {"subject", subject},
                   {"peer", ssl_conn ? peer_address(ssl_conn) : std::string("unknown")}});
  }

  // Fatal alerts this side sends that the verify callback did not cause: a
  // client without a certificate (TLS 1.3 certificate_required), or a
  // handshake that failed for another reason (protocol, ciphers).
  static void on_tls_info(const SSL* ssl_conn, int where, int ret) {
    if (!(where & SSL_CB_ALERT) || !(where & SSL_CB_WRITE)) return;
    if (std::string_view(SSL_alert_type_string(ret)) != "F") return;
    if (SSL_get_ex_data(ssl_conn, refused_index()) != nullptr) return;
    auto* self = static_cast<CpprestApiServer*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl_conn), server_index()));
    if (!self) return;
    const int description = ret & 0xff;
    const std::string_view reason = description == 116 /* certificate_required */ ? "missing" : "handshake";
    if (self->metrics_) self->metrics_->api_tls_refusal(reason);
    self->logger_->info("API TLS handshake refused", {{"reason", std::string(reason)},
                                                       {"alert", SSL_alert_desc_string_long(ret)},
                                                       {"peer", peer_address(ssl_conn)}});
  }

  // Requests being answered: stop() waits for them, so that no handler or
  // body continuation outlives the server.
  class InFlight {
   public:
    explicit InFlight(CpprestApiServer& s) : s_(s) {
      std::lock_guard lock(s_.in_flight_mutex_);
      ++s_.in_flight_;
    }
    ~InFlight() {
      std::lock_guard lock(s_.in_flight_mutex_);
      if (--s_.in_flight_ == 0) s_.in_flight_done_.notify_all();
    }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

   private:
    CpprestApiServer& s_;
  };

  void handle(web::http::http_request req) {
    auto in_flight = std::make_shared<InFlight>(*this);
    const auto started = steady_clock::now();
    Request r;
    r.method = req.method();
    const web::uri& uri = req.request_uri();
    r.path = percent_decode(uri.path()).value_or(uri.path());
    for (const auto& h : req.headers()) r.headers.push_back({h.first, h.second});
    for (const auto& [k, v] : web::uri::split_query(uri.query())) {
      r.query[percent_decode(k).value_or(k)] = percent_decode(v).value_or(v);
    }

    // The body's size is judged before anything reads it.
    std::uint64_t length = 0;
    if (auto refusal = check_body(r, length)) {
      refusal->close = true;
      return reply(req, r, "unmatched", std::move(*refusal), started);
    }
    auto matched = router_.match(r.method, uri.path());
    if (auto* refusal = std::get_if<Response>(&matched)) {
      refusal->close = refusal->close || length > 0;  // its body stays unread
      return reply(req, r, "unmatched", std::move(*refusal), started);
    }
    auto& m = std::get<Router::Match>(matched);
    r.route = m.route;
    r.params = std::move(m.params);
    const Handler* handler = m.handler;
    if (length == 0) return run(req, std::move(r), handler, started);
    req.extract_vector().then([this, req, r = std::move(r), handler, started, in_flight](
                                  pplx::task<std::vector<unsigned char>> body) mutable {
      try {
        auto bytes = body.get();
        r.body.assign(bytes.begin(), bytes.end());
      } catch (const std::exception& e) {
        Response bad = Response::error(400, "unreadable_body", std::string("the request body could not be read: ") + e.what());
        bad.close = true;
        return reply(req, r, r.route, std::move(bad), started);
      }
      run(req, std::move(r), handler, started);
    });
  }

  std::optional<Response> check_body(const Request& r, std::uint64_t& length) const {
    if (r.header("Transfer-Encoding")) {
      return Response::error(411, "length_required",
                             "send the body with a Content-Length (chunked request bodies are not accepted)");
    }
    auto header = r.header("Content-Length");
    if (!header) return std::nullopt;
    auto n = parse_length(std::string(*header));
    if (!n) return Response::error(400, "invalid_content_length", "Content-Length is not a number: " + std::string(*header));
    if (*n > config_.max_body_bytes) {
      return Response::error(413, "payload_too_large",
                             "the body is " + std::to_string(*n) + " bytes; this API takes at most " +
                                 std::to_string(config_.max_body_bytes));
    }
    length = *n;
    return std::nullopt;
  }

  void run(web::http::http_request req, Request r, const Handler* handler, steady_clock::time_point started) {
    Response response;
    try {
      response = (*handler)(r);
    } catch (const std::exception& e) {
      logger_->error("API handler failed", {{"route", r.route}, {"error", e.what()}});
      response = Response::error(500, "internal", "the agent failed to answer this request; see its log");
    }
    reply(req, r, r.route, std::move(response), started);
  }

  void reply(web::http::http_request& req, const Request& r, const std::string& route, Response response,
             steady_clock::time_point started) {
    web::http::http_response out(static_cast<web::http::status_code>(response.status));
    for (const auto& h : response.headers) out.headers().add(h.name, h.value);
    out.set_body(std::move(response.body), response.content_type);
    if (response.close) out.headers().add("Connection", "close");
    // Counted before the answer leaves, so that a client that has it sees it counted.
    const auto elapsed = std::chrono::duration<double>(steady_clock::now() - started);
    if (metrics_) metrics_->api_request(route, response.status, elapsed);
    logger_->debug("API request", {{"method", r.method},
                                   {"path", r.path},
                                   {"route", route},
                                   {"status", response.status},
                                   {"ms", elapsed.count() * 1000}});
    req.reply(out).then([](pplx::task<void> sent) {
      try {
        sent.get();
      } catch (const std::exception&) {
        // The client went away; nothing to answer.
      }
    });
  }

  ApiServerConfig config_;
  Router router_;
  std::shared_ptr<log::Logger> logger_;
  std::shared_ptr<metrics::AgentMetrics> metrics_;
  std::string cert_pem_;
  std::string key_pem_;
  std::string ca_pem_;
  std::vector<tls::CertPtr> client_cas_;
  std::unique_ptr<listener::http_listener> listener_;
  std::mutex in_flight_mutex_;
  std::condition_variable in_flight_done_;
  int in_flight_ = 0;
};

}  // namespace

std::unique_ptr<ApiServer> make_cpprest_api_server(ApiServerConfig config, Router router,
                                                   std::shared_ptr<log::Logger> logger,
                                                   std::shared_ptr<metrics::AgentMetrics> metrics) {
  return std::make_unique<CpprestApiServer>(std::move(config), std::move(router), std::move(logger),
                                            std::move(metrics));
}

}  // namespace wscp::agent::api
