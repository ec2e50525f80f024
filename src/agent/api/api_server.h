#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/api/router.h"
#include "common/result.h"
#include "log/logger.h"
#include "metrics/agent_metrics.h"

namespace wscp::agent::api {

struct ApiServerConfig {
  std::string address = "0.0.0.0";
  std::uint16_t port = 9443;
  std::uint64_t max_body_bytes = 1ull << 20;
  // Mutual TLS: the serving identity, and who may connect.
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;                 // only certificates from this CA
  std::vector<std::string> allowed_subjects;  // and, when set, only these subject CNs
};

// The agent's HTTPS API. Every connection must present a client certificate
// issued by the configured CA (and with an allowed subject, when a list is
// given): anything else is refused in the TLS handshake, before a request is
// read or a handler runs. TLS 1.2 or later. Request bodies over the limit are
// answered 413 without being read; errors are JSON
// {"error": {"code": ..., "message": ...}}.
class ApiServer {
 public:
  virtual ~ApiServer() = default;
  // Reads the certificate files and starts listening. A file that cannot be
  // read or parsed is kInvalidArgument naming it; a port in use kUnavailable.
  virtual Status start() = 0;
  // Stops listening and closes every connection.
  virtual void stop() = 0;
  // https://ADDRESS:PORT
  virtual std::string url() const = 0;
};

std::unique_ptr<ApiServer> make_cpprest_api_server(ApiServerConfig config, Router router,
                                                   std::shared_ptr<log::Logger> logger,
                                                   std::shared_ptr<metrics::AgentMetrics> metrics);

}  // namespace wscp::agent::api
