#include "controller/agent_client_factory.h"

namespace wscp::controller {

Status validate(const AgentClientOptions& options) {
  if (options.client_cert.empty() || options.client_key.empty())
    return Error(ErrorCode::kInvalidArgument,
                 "the agents' API needs a client certificate and its key (mutual TLS); none is configured");
  if (options.request_timeout.count() <= 0 || options.connect_timeout.count() <= 0)
    return Error(ErrorCode::kInvalidArgument, "agent request and connect timeouts must be positive");
  if (options.max_response_bytes == 0)
    return Error(ErrorCode::kInvalidArgument, "the agents' answers need a positive size bound");
  return Ok{};
}

DirectoryAgentClientFactory::DirectoryAgentClientFactory(const AgentDirectory& directory, AgentClientOptions options,
                                                         HttpMaker make_http)
    : directory_(directory), options_(std::move(options)), make_http_(std::move(make_http)) {
  if (!make_http_) make_http_ = [](const http::ClientConfig& c) { return http::make_curl_client(c); };
}

Result<std::unique_ptr<AgentApi>> DirectoryAgentClientFactory::client_for(std::string_view node) {
  if (auto s = validate(options_); !s) return s.error();
  auto agent = directory_.find(node);
  if (!agent) return agent.error();
  // Peers are not verified by a CA: without a pin there is no trust at all.
  if (!agent->public_key_pin.starts_with("sha256//") || agent->public_key_pin.size() <= 8)
    return Error(ErrorCode::kPermissionDenied,
                 "the agent of node " + agent->node + " published no public key to pin; it is not called");
  std::shared_ptr<http::Client> http = http_for(*agent);
  if (!http) return Error(ErrorCode::kInternal, "no HTTP client for the agent of node " + agent->node);
  return std::unique_ptr<AgentApi>(std::make_unique<HttpAgentClient>(std::move(*agent), std::move(http), options_));
}

std::shared_ptr<http::Client> DirectoryAgentClientFactory::http_for(const AgentInfo& agent) {
  std::lock_guard lock(mu_);
  auto it = http_.find(agent.node);
  if (it != http_.end() && it->second.first == agent.public_key_pin) return it->second.second;
  std::shared_ptr<http::Client> http = make_http_(agent_http_config(agent, options_));
  if (http) http_[agent.node] = {agent.public_key_pin, http};
  return http;
}

}  // namespace wscp::controller
