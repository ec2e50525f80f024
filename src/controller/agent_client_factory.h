#pragma once

// Clients of nodes' agents, made from what the directory knows at the time
// of asking (so an agent that restarted with another key or port is reached
// as it published itself last). The controller is handed the interface;
// its tests hand it a fake.

#include <functional>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "controller/agent_api.h"
#include "controller/agent_client.h"
#include "controller/agent_directory.h"
#include "http/client.h"

namespace wscp::controller {

class AgentClientFactory {
 public:
  virtual ~AgentClientFactory() = default;
  // A client of the agent serving `node`, or why there is none (the
  // directory's answer: not registered, expired, invalid registration).
  virtual Result<std::unique_ptr<AgentApi>> client_for(std::string_view node) = 0;
};

class DirectoryAgentClientFactory final : public AgentClientFactory {
 public:
  using HttpMaker = std::function<std::unique_ptr<http::Client>(const http::ClientConfig&)>;

  // make_http defaults to libcurl.
  DirectoryAgentClientFactory(const AgentDirectory& directory, AgentClientOptions options,
                              HttpMaker make_http = nullptr);

  Result<std::unique_ptr<AgentApi>> client_for(std::string_view node) override;

 private:
  // One HTTP client per node, with its open connections, for as long as the
  // node's agent publishes the same key: a new key is a new client (and
  // new connections, each checked against the new pin).
  std::shared_ptr<http::Client> http_for(const AgentInfo& agent);

  const AgentDirectory& directory_;
  AgentClientOptions options_;
  HttpMaker make_http_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::shared_ptr<http::Client>>, std::less<>> http_;  // node -> (pin, client)
};

// The options are usable: a client certificate and key are named (the
// agents accept mutual TLS only) and the bounds are positive.
Status validate(const AgentClientOptions& options);

}  // namespace wscp::controller
