#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "http/client.h"
#include "kube/config.h"
#include "kube/kube_client.h"
#include "kube/token_source.h"

namespace wscp::kube {

struct ClientOptions {
  std::chrono::milliseconds request_timeout{30'000};  // per call, unless the call says otherwise
  std::chrono::milliseconds connect_timeout{10'000};
  std::size_t max_watch_event = 16u << 20;            // bytes of one watch event
};

// KubeClient over the project's HTTP client. A 401 makes the token source
// read its file again and the request is repeated once (a rotated token).
// (The overrides repeat the interface's default arguments, so that calls
// through this type read the same as calls through KubeClient.)
class KubeClientImpl final : public KubeClient {
 public:
  // server: "https://host:port"; tokens may be null (client certificates only).
  KubeClientImpl(std::shared_ptr<http::Client> http, std::string server, std::shared_ptr<TokenSource> tokens,
                 ClientOptions options = {});

  Result<Json> get(const Resource& r, std::string_view ns, std::string_view name,
                   const CallOptions& options = {}) override;
  Result<ObjectList> list(const Resource& r, std::string_view ns, const ListOptions& options = {}) override;
  Result<Json> create(const Resource& r, const Json& object, const WriteOptions& options = {}) override;
  Result<Json> update(const Resource& r, const Json& object, const WriteOptions& options = {}) override;
  Result<Json> update_status(const Resource& r, const Json& object, const WriteOptions& options = {}) override;
  Result<Json> patch(const Resource& r, std::string_view ns, std::string_view name, const Json& patch,
                     const PatchOptions& options = {}) override;
  Result<Json> remove(const Resource& r, std::string_view ns, std::string_view name,
                      const DeleteOptions& options = {}) override;
  Result<Json> create_subresource(const Resource& r, std::string_view ns, std::string_view name,
                                  std::string_view subresource, const Json& body,
                                  const WriteOptions& options = {}) override;
  Status watch(const Resource& r, std::string_view ns, const WatchOptions& options,
               const WatchHandler& on_event) override;

 private:
  using Query = std::vector<std::pair<std::string, std::string>>;
  struct Call {
    std::string method = "GET";
    std::string path;
    Query query;
    std::string body;
    std::string content_type;
    std::string what;  // "get pods ns/name": the start of every error message
    const CallOptions* options = nullptr;
    std::chrono::milliseconds timeout{0};
  };

  Result<http::Response> send(const Call& call, ByteSink* sink = nullptr);
  Result<Json> json_call(const Call& call);
  Result<Json> put(const Resource& r, const Json& object, const WriteOptions& options, std::string_view subresource);

  std::shared_ptr<http::Client> http_;
  std::string server_;
  std::shared_ptr<TokenSource> tokens_;
  ClientOptions options_;
};

// The HTTP client settings a configuration implies (CA, client certificate).
http::ClientConfig http_client_config(const KubeConfig& config);

// A client for the configuration, on libcurl.
std::unique_ptr<KubeClient> make_kube_client(const KubeConfig& config, ClientOptions options = {},
                                             std::shared_ptr<Clock> clock = system_clock());

}  // namespace wscp::kube
