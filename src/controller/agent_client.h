#pragma once

// AgentApi over HTTPS to one agent: mutual TLS with the controller's client
// certificate, the agent's self-signed serving certificate trusted by the
// public key pin it published in its Lease (the pin is the trust, so the
// CA chain is not checked), bounded time and bounded answers, and every
// answer checked against what was asked.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "controller/agent_api.h"
#include "controller/agent_directory.h"
#include "http/client.h"

namespace wscp::controller {

struct AgentClientOptions {
  // The controller's client certificate and key (PEM files), from the CA
  // the agents trust (their api.tls.client_ca).
  std::string client_cert;
  std::string client_key;
  std::chrono::milliseconds request_timeout{15'000};
  std::chrono::milliseconds connect_timeout{5'000};
  // Answers larger than this are refused (an operation or a workspace list
  // is a few KiB).
  std::size_t max_response_bytes = 4 * 1024 * 1024;
};

// The HTTP client configuration for talking to `agent`.
http::ClientConfig agent_http_config(const AgentInfo& agent, const AgentClientOptions& options);

// What an agent's error answer means here: 400 and 413 kInvalidArgument,
// 401/403 kPermissionDenied, 404 kNotFound, 409 kConflict (kCancelled when
// the agent says "cancelled"), 422 kUnsupported, 429/502/503 kUnavailable,
// 504 kDeadlineExceeded, 500 kInternal (or kIntegrity, kCheckpointFailed,
// kRestoreFailed by the agent's code); other 4xx kInvalidArgument, other
// 5xx kInternal.
ErrorCode error_code_for(int status, std::string_view agent_code);

// Reads {"error": {"code", "message"}}; a body without one still gives a
// refusal (code "", the body's beginning as the message).
AgentRefusal refusal_from(int status, std::string_view body);

class HttpAgentClient final : public AgentApi {
 public:
  HttpAgentClient(AgentInfo agent, std::shared_ptr<http::Client> http, AgentClientOptions options);

  const std::string& node() const override { return agent_.node; }
  Result<StartedOperation> start(std::string_view operation_id, const agent::operations::Request& request) override;
  Result<agent::operations::Operation> get(std::string_view operation_id) override;
  Result<agent::operations::Operation> cancel(std::string_view operation_id) override;
  Result<PreflightVerdict> preflight(const PreflightQuery& query) override;
  Result<NodeWorkspaces> list_workspaces() override;

 private:
  struct Answer {
    int status = 0;
    std::string body;
  };
  // One call; transport failures and oversized answers are errors, any
  // status is an answer.
  Result<Answer> call(std::string_view method, const std::string& path, std::string body = "");
  // The error an unexpected status stands for.
  Error error_of(std::string_view what, const Answer& answer) const;
  Error invalid_answer(std::string_view what, const std::string& why) const;
  Result<nlohmann::json> json_of(std::string_view what, const Answer& answer) const;
  Result<agent::operations::Operation> operation_of(std::string_view what, const Answer& answer,
                                                    std::string_view expected_id) const;
  std::string context(std::string_view what) const;

  AgentInfo agent_;
  std::shared_ptr<http::Client> http_;
  AgentClientOptions options_;
};

}  // namespace wscp::controller
