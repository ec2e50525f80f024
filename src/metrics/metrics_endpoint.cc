#include "metrics/metrics_endpoint.h"

#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <exception>

namespace wscp::metrics {

MetricsEndpoint::MetricsEndpoint(std::unique_ptr<prometheus::Exposer> exposer, std::uint16_t port)
    : exposer_(std::move(exposer)), port_(port) {}

MetricsEndpoint::~MetricsEndpoint() = default;

Result<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::start(const std::string& address, std::uint16_t port,
                                                                std::shared_ptr<prometheus::Registry> registry) {
  const bool v6 = address.find(':') != std::string::npos;
  const std::string bind = (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(bind, 2);
  } catch (const std::exception& e) {
    return Error(ErrorCode::kUnavailable, "cannot serve metrics on " + bind + ": " + e.what() +
                                              " (is the port in use, or the address not this machine's?)");
  }
  exposer->RegisterCollectable(registry);
  auto ports = exposer->GetListeningPorts();
  if (ports.empty() || ports.front() <= 0) {
    return Error(ErrorCode::kInternal, "metrics endpoint on " + bind + " reports no listening port");
  }
  return std::unique_ptr<MetricsEndpoint>(
      new MetricsEndpoint(std::move(exposer), static_cast<std::uint16_t>(ports.front())));
}

}  // namespace wscp::metrics
