// libcurl behind http::Client: one easy handle per request at a time (so
// send() is thread-safe), bodies streamed through callbacks in both
// directions. With keep_connections, finished handles wait in a pool with
// their open connections for the next request.
#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "http/client.h"

namespace wscp::http {
namespace {

// Error bodies are kept for messages only; a peer that sends more is cut.
constexpr std::size_t kMaxErrorBody = 64 * 1024;
// Bodies asked for in memory (JSON answers) are bounded too.
constexpr std::size_t kMaxMemoryBody = 64 * 1024 * 1024;

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct ListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
using HeaderList = std::unique_ptr<curl_slist, ListDeleter>;

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// State shared with the callbacks of one transfer.
struct Transfer {
  const Request* request = nullptr;
  ByteSink* sink = nullptr;
  CURL* handle = nullptr;
  Response response;
  std::size_t body_offset = 0;
  std::optional<Error> callback_error;

  bool cancelled() const { return request->cancel && request->cancel->cancelled(); }

  bool status_is_success() const {
    long code = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code);
    return code >= 200 && code < 300;
  }
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    t->response.headers.clear();  // a new response (after 100 Continue or a redirect)
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    t->response.headers.push_back({std::string(line.substr(0, colon)), std::string(value)});
  }
  return size * count;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (t->sink && t->status_is_success()) {
    Status s = t->sink->write(std::as_bytes(std::span(data, n)));
    if (!s.ok()) {
      t->callback_error = s.error();
      return 0;  // aborts the transfer
    }
    return n;
  }
  const std::size_t limit = t->sink ? kMaxErrorBody : kMaxMemoryBody;
  if (t->response.body.size() + n > limit) {
    if (!t->sink) {
      t->callback_error = Error(ErrorCode::kInternal, "response body larger than " +
                                                           std::to_string(limit) + " bytes");
      return 0;
    }
    t->response.body.append(data, limit - t->response.body.size());
    return n;
  }
  t->response.body.append(data, n);
  return n;
}

std::size_t on_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t room = size * count;
  if (t->cancelled()) return CURL_READFUNC_ABORT;
  const Request& r = *t->request;
  if (!r.body_stream) {
    std::size_t n = std::min(room, r.body.size() - t->body_offset);
    std::memcpy(buffer, r.body.data() + t->body_offset, n);
    t->body_offset += n;
    return n;
  }
  auto got = r.body_stream->read(std::as_writable_bytes(std::span(buffer, room)));
  if (!got.ok()) {
    // Abort rather than end the body: the peer must see a broken upload.
    t->callback_error = got.error();
    return CURL_READFUNC_ABORT;
  }
  return *got;
}

// libcurl sends a request again when a kept connection turns out closed:
// an in-memory body starts over.
int on_seek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::size_t>(offset) > t->request->body.size())
    return CURL_SEEKFUNC_CANTSEEK;
  t->body_offset = static_cast<std::size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->cancelled() ? 1 : 0;
}

ErrorCode classify(CURLcode code) {
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
      return ErrorCode::kPermissionDenied;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return ErrorCode::kInvalidArgument;
    case CURLE_OPERATION_TIMEDOUT:
      return ErrorCode::kUnavailable;
    default:
      return ErrorCode::kUnavailable;
  }
}

class CurlClient final : public Client {
 public:
  explicit CurlClient(ClientConfig config) : config_(std::move(config)) { global_init_once(); }

  Result<Response> send(const Request& request, ByteSink* sink) override {
    EasyHandle easy = take_handle();
    if (!easy) return Error(ErrorCode::kInternal, "curl_easy_init failed");
    CURL* h = easy.get();
    Transfer t;
    t.request = &request;
    t.sink = sink;
    t.handle = h;
    char error_text[CURL_ERROR_SIZE] = {};

    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (config_.keep_connections) curl_easy_setopt(h, CURLOPT_MAXLIFETIME_CONN, kMaxConnectionAgeSeconds);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_text);
    curl_easy_setopt(h, CURLOPT_USERAGENT, config_.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
    if (request.timeout.count() > 0) {
      curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    }
    if (request.stall_timeout.count() > 0) {
      curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                       std::max(1L, static_cast<long>(request.stall_timeout.count() / 1000)));
    }
    apply_transport(h);

    HeaderList headers;
    auto add_header = [&](const std::string& line) {
      headers.reset(curl_slist_append(headers.release(), line.c_str()));
    };
    for (const auto& hdr : request.headers) add_header(hdr.name + ": " + hdr.value);
    add_header("Expect:");  // no 100-continue round trip

    const bool has_body = request.body_stream != nullptr || !request.body.empty();
    if (request.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (has_body) {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
      curl_easy_setopt(h, CURLOPT_READDATA, &t);
      if (request.body_stream) {
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
      } else {
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, &t);
      }
      curl_off_t size = -1;  // unknown: chunked
      if (!request.body_stream) size = static_cast<curl_off_t>(request.body.size());
      else if (request.body_size) size = static_cast<curl_off_t>(*request.body_size);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, size);
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    } else {
      if (request.method == "POST" || request.method == "PUT") add_header("Content-Length: 0");
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
      if (t.callback_error) return *t.callback_error;
      if (t.cancelled()) return Error(ErrorCode::kCancelled, describe(request) + ": cancelled");
      std::string detail = error_text[0] ? error_text : curl_easy_strerror(rc);
      return Error(classify(rc), describe(request) + ": " + detail);
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    t.response.status = static_cast<int>(status);
    give_back(std::move(easy));
    return std::move(t.response);
  }

 private:
  static constexpr std::size_t kMaxIdleHandles = 16;

  EasyHandle take_handle() {
    if (config_.keep_connections) {
      std::lock_guard lock(idle_mu_);
      if (!idle_.empty()) {
        EasyHandle h = std::move(idle_.back());
        idle_.pop_back();
        return h;
      }
    }
    return EasyHandle(curl_easy_init());
  }

  // A kept connection is not used past this age: a rotated client
  // certificate or CA takes effect within it.
  static constexpr long kMaxConnectionAgeSeconds = 300;

  // A handle that finished its transfer keeps its connections for the next
  // one; its options (pointers into this transfer among them) are cleared.
  void give_back(EasyHandle h) {
    if (!config_.keep_connections) return;
    curl_easy_reset(h.get());
    std::lock_guard lock(idle_mu_);
    if (idle_.size() < kMaxIdleHandles) idle_.push_back(std::move(h));
  }

  void apply_transport(CURL* h) const {
    if (!config_.unix_socket.empty()) {
      curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, config_.unix_socket.c_str());
    }
    if (!config_.ca_pem.empty()) set_blob(h, CURLOPT_CAINFO_BLOB, config_.ca_pem);
    else if (!config_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, config_.ca_file.c_str());
    if (!config_.client_cert_pem.empty()) set_blob(h, CURLOPT_SSLCERT_BLOB, config_.client_cert_pem);
    else if (!config_.client_cert.empty()) curl_easy_setopt(h, CURLOPT_SSLCERT, config_.client_cert.c_str());
    if (!config_.client_key_pem.empty()) set_blob(h, CURLOPT_SSLKEY_BLOB, config_.client_key_pem);
    else if (!config_.client_key.empty()) curl_easy_setopt(h, CURLOPT_SSLKEY, config_.client_key.c_str());
    if (!config_.verify_peer) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!config_.pinned_public_key.empty()) {
      curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, config_.pinned_public_key.c_str());
    }
    if (config_.bypass_proxy) curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  }

  // In-memory PEM; libcurl keeps its own copy (CURL_BLOB_COPY).
  static void set_blob(CURL* h, CURLoption option, const std::string& pem) {
    curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(h, option, &blob);
  }

  std::string describe(const Request& r) const {
    std::string where = r.method + " " + r.url;
    if (!config_.unix_socket.empty()) where += " (unix socket " + config_.unix_socket + ")";
    return where;
  }

  ClientConfig config_;
  std::mutex idle_mu_;
  std::vector<EasyHandle> idle_;
};

}  // namespace

std::unique_ptr<Client> make_curl_client(ClientConfig config) {
  return std::make_unique<CurlClient>(std::move(config));
}

}  // namespace wscp::http
