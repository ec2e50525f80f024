#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/operation.h"
#include "common/result.h"
#include "common/stream.h"

namespace wscp::http {

struct Header {
  std::string name;
  std::string value;
};

struct Request {
  std::string method = "GET";
  // Absolute URL. Over a unix socket the host part is ignored: http://d/path.
  std::string url;
  std::vector<Header> headers;
  // A small body held in memory, or a streamed one (chunked unless its size
  // is given). If the stream fails the connection is broken, never ended
  // cleanly, so the peer cannot mistake a partial body for a whole one.
  std::string body;
  ByteSource* body_stream = nullptr;
  std::optional<std::uint64_t> body_size;
  // 0 means no limit (archives may take minutes); stall_timeout catches a
  // peer that stops sending without closing.
  std::chrono::milliseconds timeout{0};
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds stall_timeout{0};
  const CancelToken* cancel = nullptr;
};

struct Response {
  int status = 0;
  std::vector<Header> headers;
  // The body when no sink was given, or the (bounded) error body of a
  // non-2xx answer even when one was.
  std::string body;

  bool success() const { return status >= 200 && status < 300; }
  // Case-insensitive header look-up.
  std::optional<std::string_view> header(std::string_view name) const;
};

// The one HTTP client of the project. send() is safe to call from several
// threads at once.
class Client {
 public:
  virtual ~Client() = default;
  // Transport failures (refused, reset, timeout) are kUnavailable; an HTTP
  // error status is not a failure here: the caller interprets it. With a
  // sink, a 2xx body streams into it (the sink is not closed: the caller
  // decides when the stream is complete).
  virtual Result<Response> send(const Request& request, ByteSink* response_sink = nullptr) = 0;
};

struct ClientConfig {
  std::string unix_socket;   // talk to this socket instead of TCP
  std::string ca_file;       // trust these CAs (TLS)
  std::string client_cert;   // present this certificate (mutual TLS)
  std::string client_key;
  // The same three as PEM text held in memory (a kubeconfig carries them
  // inline); each, when set, is used instead of its file.
  std::string ca_pem;
  std::string client_cert_pem;
  std::string client_key_pem;
  bool verify_peer = true;
  // Accept only a server whose public key hashes to this: "sha256//BASE64"
  // of its SubjectPublicKeyInfo (libcurl's CURLOPT_PINNEDPUBLICKEY). Checked
  // even when verify_peer is off (a self-signed server known by its key).
  std::string pinned_public_key;
  // Never go through a proxy named in the environment (http_proxy...): for
  // link-local services such as cloud metadata endpoints.
  bool bypass_proxy = false;
  // Keep connections open between requests (up to kMaxIdleHandles handles'
  // worth): a busy TLS client otherwise pays a handshake per request, and
  // so does its server. A request that streams its body always opens a
  // connection of its own, since a stream cannot be sent again on one
  // found dead. libcurl sends a request again when a kept connection closes
  // before any answer, so the server may receive it twice: use it for
  // idempotent requests (and creates that take AlreadyExists as done).
  // A connection is kept at most 5 minutes (rotated certificates apply).
  bool keep_connections = false;
  std::string user_agent = "wscp";
};

std::unique_ptr<Client> make_curl_client(ClientConfig config);

// Percent-encodes one URL component (RFC 3986 unreserved characters stay).
std::string url_encode(std::string_view text);

}  // namespace wscp::http
