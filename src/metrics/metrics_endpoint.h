#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"

namespace prometheus {
class Exposer;
class Registry;
}  // namespace prometheus

namespace wscp::metrics {

// Serves a registry at http://ADDRESS:PORT/metrics (prometheus-cpp's own
// Exposer, on a port of its own: Prometheus scrapes with its own identity,
// which must not be one that may start operations on the agent's API).
class MetricsEndpoint {
 public:
  // Port 0 picks a free one (see port()). A port in use, or an address that
  // is not the machine's, is kUnavailable naming both.
  static Result<std::unique_ptr<MetricsEndpoint>> start(const std::string& address, std::uint16_t port,
                                                         std::shared_ptr<prometheus::Registry> registry);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  std::uint16_t port() const { return port_; }

 private:
  MetricsEndpoint(std::unique_ptr<prometheus::Exposer> exposer, std::uint16_t port);
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::uint16_t port_;
};

}  // namespace wscp::metrics
