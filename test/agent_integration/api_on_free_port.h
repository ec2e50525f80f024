#pragma once

#include <doctest/doctest.h>

#include <memory>

#include "agent/api/api_server.h"
#include "agent_env.h"

namespace wscp::agent::testing {

// Starts the API server on a free loopback port (setting config.port). A
// port free when asked can be taken before the server listens: a few tries.
inline std::unique_ptr<api::ApiServer> start_api_on_free_port(api::ApiServerConfig& config, const api::Router& router,
                                                              std::shared_ptr<metrics::AgentMetrics> metrics = nullptr) {
  std::unique_ptr<api::ApiServer> server;
  Status started = Error(ErrorCode::kUnavailable, "not started");
  for (int attempt = 0; attempt < 5 && !started; ++attempt) {
    config.port = free_port();
    server = api::make_cpprest_api_server(config, router, nullptr, metrics);
    started = server->start();
  }
  REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.error().describe()));
  return server;
}

}  // namespace wscp::agent::testing
