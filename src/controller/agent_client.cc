#include "controller/agent_client.h"

namespace wscp::controller {

using nlohmann::json;
namespace ops = agent::operations;

namespace {

constexpr std::size_t kMaxAgentCode = 64;
constexpr std::size_t kMaxAgentMessage = 1024;

// Keeps a 2xx body in memory up to a bound; beyond it the transfer is
// broken off rather than read to the end.
class BoundedSink final : public ByteSink {
 public:
  explicit BoundedSink(std::size_t max) : max_(max) {}
  Status write(std::span<const std::byte> data) override {
    if (data_.size() + data.size() > max_) {
      overflowed_ = true;
      return Error(ErrorCode::kInternal, "answer larger than " + std::to_string(max_) + " bytes");
    }
    data_.append(reinterpret_cast<const char*>(data.data()), data.size());
    return Ok{};
  }
  Status close() override { return Ok{}; }
  bool overflowed() const { return overflowed_; }
  std::string take() { return std::move(data_); }

 private:
  std::size_t max_;
  std::string data_;
  bool overflowed_ = false;
};

// Statuses of /v1/preflight that are the agent's considered "no" rather
// than a failure to find out (a bad request, credentials, overload).
bool is_refusal(int status) {
  return status >= 400 && status < 500 && status != 400 && status != 401 && status != 403 && status != 408 &&
         status != 413 && status != 429;
}

}  // namespace

http::ClientConfig agent_http_config(const AgentInfo& agent, const AgentClientOptions& options) {
  http::ClientConfig c;
  c.client_cert = options.client_cert;
  c.client_key = options.client_key;
  // Agents serve self-signed certificates: what they published in their
  // Lease (the public key's hash) is what is trusted, and libcurl checks it
  // in the handshake, before a request is sent.
  c.verify_peer = false;
  c.pinned_public_key = agent.public_key_pin;
  c.bypass_proxy = true;
  c.keep_connections = true;  // kept per node by the client factory
  c.user_agent = "wscp-controller";
  return c;
}

ErrorCode error_code_for(int status, std::string_view agent_code) {
  switch (status) {
    case 400:
    case 413: return ErrorCode::kInvalidArgument;
    case 401:
    case 403: return ErrorCode::kPermissionDenied;
    case 404: return ErrorCode::kNotFound;
    case 409: return agent_code == "cancelled" ? ErrorCode::kCancelled : ErrorCode::kConflict;
    case 422: return ErrorCode::kUnsupported;
    case 408:
    case 429:
    case 502:
    case 503: return ErrorCode::kUnavailable;
    case 504: return ErrorCode::kDeadlineExceeded;
    case 500:
      if (agent_code == "integrity") return ErrorCode::kIntegrity;
      if (agent_code == "checkpoint_failed") return ErrorCode::kCheckpointFailed;
      if (agent_code == "restore_failed") return ErrorCode::kRestoreFailed;
      return ErrorCode::kInternal;
    default: break;
  }
  if (status >= 400 && status < 500) return ErrorCode::kInvalidArgument;
  return ErrorCode::kInternal;
}

AgentRefusal refusal_from(int status, std::string_view body) {
  AgentRefusal r;
  r.status = status;
  FieldProblems ignored;
  if (auto j = parse_bounded(body, 64 * 1024, "body", ignored, 8)) {
    const json* error = member(*j, "error");
    const json* code = error ? member(*error, "code") : nullptr;
    const json* message = error ? member(*error, "message") : nullptr;
    if (code && code->is_string() && code->get_ref<const std::string&>().size() <= kMaxAgentCode)
      r.code = excerpt(code->get<std::string>(), kMaxAgentCode);
    if (message && message->is_string()) r.message = excerpt(message->get<std::string>(), kMaxAgentMessage);
  }
  if (r.code.empty() && r.message.empty())
    r.message = body.empty() ? "(no explanation)" : "\"" + excerpt(body, 200) + "\"";
  r.error_code = error_code_for(status, r.code);
  return r;
}

HttpAgentClient::HttpAgentClient(AgentInfo agent, std::shared_ptr<http::Client> http, AgentClientOptions options)
    : agent_(std::move(agent)), http_(std::move(http)), options_(std::move(options)) {}

std::string HttpAgentClient::context(std::string_view what) const {
  return "agent of node " + agent_.node + " (" + agent_.endpoint + "): " + std::string(what);
}

Error HttpAgentClient::invalid_answer(std::string_view what, const std::string& why) const {
  return Error(ErrorCode::kInternal, context(what) + ": " + why);
}

Error HttpAgentClient::error_of(std::string_view what, const Answer& answer) const {
  if (answer.status < 400)
    return invalid_answer(what, "unexpected status " + std::to_string(answer.status) + ": \"" +
                                    excerpt(answer.body, 200) + "\"");
  AgentRefusal r = refusal_from(answer.status, answer.body);
  std::string text = context(what) + ": " + std::to_string(answer.status);
  if (!r.code.empty()) text += " " + r.code;
  text += ": " + r.message;
  return Error(r.error_code, std::move(text));
}

Result<HttpAgentClient::Answer> HttpAgentClient::call(std::string_view method, const std::string& path,
                                                      std::string body) {
  const std::string what = std::string(method) + " " + path;
  http::Request r;
  r.method = std::string(method);
  r.url = agent_.endpoint + path;
  r.headers.push_back({"Accept", "application/json"});
  if (!body.empty()) r.headers.push_back({"Content-Type", "application/json"});
  r.body = std::move(body);
  r.timeout = options_.request_timeout;
  r.connect_timeout = options_.connect_timeout;
  BoundedSink sink(options_.max_response_bytes);
  auto sent = http_->send(r, &sink);
  if (sink.overflowed())
    return invalid_answer(what, "answer larger than " + std::to_string(options_.max_response_bytes) + " bytes");
  if (!sent) return sent.error().wrap(context(what));
  Answer a;
  a.status = sent->status;
  a.body = sink.take();
  if (a.body.empty()) a.body = std::move(sent->body);
  if (a.body.size() > options_.max_response_bytes)
    return invalid_answer(what, "answer larger than " + std::to_string(options_.max_response_bytes) + " bytes");
  return a;
}

Result<json> HttpAgentClient::json_of(std::string_view what, const Answer& answer) const {
  FieldProblems problems;
  auto j = parse_bounded(answer.body, options_.max_response_bytes, "the answer", problems, 32);
  if (!j) return invalid_answer(what, problems.joined());
  if (!j->is_object()) return invalid_answer(what, "the answer is not a JSON object");
  return std::move(*j);
}

Result<ops::Operation> HttpAgentClient::operation_of(std::string_view what, const Answer& answer,
                                                     std::string_view expected_id) const {
  auto j = json_of(what, answer);
  if (!j) return j.error();
  auto op = ops::operation_from_json(*j);
  if (!op) return invalid_answer(what, "the operation does not parse: " + op.error().message());
  if (op->id != expected_id)
    return invalid_answer(what, "answered about operation \"" + excerpt(op->id) + "\" when asked about \"" +
                                    std::string(expected_id) + "\"");
  return op;
}

Result<StartedOperation> HttpAgentClient::start(std::string_view operation_id, const ops::Request& request) {
  const std::string what = "POST /v1/operations";
  if (auto s = ops::validate_operation_id(operation_id); !s) return s.error().wrap(context(what));
  json body = ops::to_json(request);
  body["id"] = std::string(operation_id);
  auto answer = call("POST", "/v1/operations", body.dump());
  if (!answer) return answer.error();
  if (answer->status != 200 && answer->status != 202) return error_of(what, *answer);
  auto op = operation_of(what, *answer, operation_id);
  if (!op) return op.error();
  // The agent answers 200 only for the same request (409 otherwise): any
  // other request here means the answer cannot be trusted.
  if (!(op->request == request))
    return invalid_answer(what, "answered operation " + op->id + " with another request (" +
                                    excerpt(ops::to_json(op->request).dump(), 200) + ")");
  return StartedOperation{std::move(*op), answer->status == 202};
}

Result<ops::Operation> HttpAgentClient::get(std::string_view operation_id) {
  const std::string path = "/v1/operations/" + http::url_encode(operation_id);
  const std::string what = "GET " + path;
  if (auto s = ops::validate_operation_id(operation_id); !s) return s.error().wrap(context(what));
  auto answer = call("GET", path);
  if (!answer) return answer.error();
  if (answer->status != 200) return error_of(what, *answer);
  return operation_of(what, *answer, operation_id);
}

Result<ops::Operation> HttpAgentClient::cancel(std::string_view operation_id) {
  const std::string path = "/v1/operations/" + http::url_encode(operation_id);
  const std::string what = "DELETE " + path;
  if (auto s = ops::validate_operation_id(operation_id); !s) return s.error().wrap(context(what));
  auto answer = call("DELETE", path);
  if (!answer) return answer.error();
  if (answer->status != 200 && answer->status != 202) return error_of(what, *answer);
  return operation_of(what, *answer, operation_id);
}

Result<PreflightVerdict> HttpAgentClient::preflight(const PreflightQuery& query) {
  const std::string what = "POST /v1/preflight";
  if (query.workspace_id.empty() || query.checkpoint_id.empty())
    return Error(ErrorCode::kInvalidArgument, context(what) + ": workspaceId and checkpointId are both required");
  json body{{"workspaceId", query.workspace_id}, {"checkpointId", query.checkpoint_id}};
  if (!query.store.empty()) body["store"] = query.store;
  auto answer = call("POST", "/v1/preflight", body.dump());
  if (!answer) return answer.error();
  if (answer->status == 200) {
    auto j = json_of(what, *answer);
    if (!j) return j.error();
    const json* can = member(*j, "canRestore");
    if (!can || *can != true) return invalid_answer(what, "200 without \"canRestore\": true");
    return PreflightVerdict{};
  }
  if (is_refusal(answer->status)) return PreflightVerdict{refusal_from(answer->status, answer->body)};
  return error_of(what, *answer);
}

Result<NodeWorkspaces> HttpAgentClient::list_workspaces() {
  const std::string what = "GET /v1/workspaces";
  auto answer = call("GET", "/v1/workspaces");
  if (!answer) return answer.error();
  if (answer->status != 200) return error_of(what, *answer);
  auto j = json_of(what, *answer);
  if (!j) return j.error();
  FieldProblems problems;
  NodeWorkspaces out;
  const json* ws = member(*j, "workspaces");
  if (!ws || !ws->is_array()) {
    problems.add("workspaces", "must be an array");
  } else if (ws->size() > kMaxWorkspaces) {
    problems.add("workspaces", "lists " + std::to_string(ws->size()) + ", at most " + std::to_string(kMaxWorkspaces) +
                                   " are accepted");
  } else {
    for (std::size_t i = 0; i < ws->size(); ++i)
      if (auto w = read_workspace((*ws)[i], "workspaces[" + std::to_string(i) + "].", problems))
        out.workspaces.push_back(std::move(*w));
  }
  const json* cap = member(*j, "capacity");
  if (!cap) problems.add("capacity", "is missing");
  else if (auto c = read_capacity(*cap, "capacity.", problems)) out.capacity = std::move(*c);
  if (!problems.empty()) return invalid_answer(what, "the answer does not parse: " + problems.joined());
  return out;
}

}  // namespace wscp::controller
