#include "kube/kube_client_impl.h"

#include "kube/api_error.h"
#include "kube/object.h"
#include "kube/watch_stream.h"

namespace wscp::kube {
namespace {

void add_write_options(std::vector<std::pair<std::string, std::string>>& q, const WriteOptions& o) {
  if (!o.field_manager.empty()) q.emplace_back("fieldManager", o.field_manager);
  if (o.dry_run) q.emplace_back("dryRun", "All");
}

std::string describe(std::string_view verb, const Resource& r, std::string_view ns, std::string_view name) {
  std::string what(verb);
  what += " " + r.qualified_name();
  if (!name.empty()) {
    what += " " + object_key(r.namespaced ? ns : std::string_view(), name);
  } else if (r.namespaced) {
    what += ns.empty() ? " in all namespaces" : " in namespace " + std::string(ns);
  }
  return what;
}

std::string_view content_type(PatchType t) {
  switch (t) {
    case PatchType::kMerge: return "application/merge-patch+json";
    case PatchType::kJsonPatch: return "application/json-patch+json";
    case PatchType::kStrategicMerge: return "application/strategic-merge-patch+json";
    case PatchType::kApply: return "application/apply-patch+yaml";
  }
  return "application/merge-patch+json";
}

std::string_view propagation_name(Propagation p) {
  switch (p) {
    case Propagation::kForeground: return "Foreground";
    case Propagation::kBackground: return "Background";
    case Propagation::kOrphan: return "Orphan";
    case Propagation::kDefault: break;
  }
  return "";
}

// The object's namespace and name, checked against the resource's scope.
Status check_identity(const Resource& r, const Json& object, std::string_view verb) {
  if (!object.is_object()) {
    return Error(ErrorCode::kInvalidArgument, std::string(verb) + " " + r.qualified_name() + ": not a JSON object");
  }
  if (name_of(object).empty() && (verb != "create" || meta_string(object, "generateName").empty())) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string(verb) + " " + r.qualified_name() + ": the object has no metadata.name");
  }
  if (r.namespaced && namespace_of(object).empty()) {
    return Error(ErrorCode::kInvalidArgument, std::string(verb) + " " + r.qualified_name() + " " + name_of(object) +
                                                  ": the object has no metadata.namespace");
  }
  return Ok{};
}

// The object with apiVersion and kind filled in when missing.
Json with_type(const Resource& r, Json object) {
  if (!object.contains("apiVersion")) object["apiVersion"] = r.api_version();
  if (!object.contains("kind") && !r.kind.empty()) object["kind"] = r.kind;
  return object;
}

}  // namespace

KubeClientImpl::KubeClientImpl(std::shared_ptr<http::Client> http, std::string server,
                               std::shared_ptr<TokenSource> tokens, ClientOptions options)
    : http_(std::move(http)), server_(std::move(server)), tokens_(std::move(tokens)), options_(options) {
  while (server_.ends_with("/")) server_.pop_back();
}

Result<http::Response> KubeClientImpl::send(const Call& call, ByteSink* sink) {
  http::Request request;
  request.method = call.method;
  request.url = server_ + call.path;
  char sep = '?';
  for (const auto& [k, v] : call.query) {
    request.url += sep + http::url_encode(k) + "=" + http::url_encode(v);
    sep = '&';
  }
  request.body = call.body;
  std::vector<http::Header> headers{{"Accept", "application/json"}};
  if (!call.content_type.empty()) headers.push_back({"Content-Type", call.content_type});
  request.connect_timeout = options_.connect_timeout;
  request.timeout = call.timeout;
  if (call.options) {
    if (call.options->timeout.count() > 0) request.timeout = call.options->timeout;
    request.cancel = call.options->cancel;
  }

  for (int attempt = 0;; ++attempt) {
    request.headers = headers;
    if (tokens_) {
      auto token = tokens_->token();
      if (!token) return token.error().wrap(call.what);
      if (!token->empty()) request.headers.push_back({"Authorization", "Bearer " + *token});
    }
    auto response = http_->send(request, sink);
    if (!response) return response.error().wrap(call.what);
    // A rotated token: read the file again and repeat once.
    if (response->status == 401 && attempt == 0 && tokens_ && tokens_->refreshable()) {
      tokens_->invalidate();
      continue;
    }
    return response;
  }
}

Result<Json> KubeClientImpl::json_call(const Call& call) {
  auto response = send(call);
  if (!response) return response.error();
  if (!response->success()) return api_error(*response, call.what);
  if (response->body.empty()) return Json::object();
  auto parsed = Json::parse(response->body, nullptr, false);
  if (parsed.is_discarded()) {
    return Error(ErrorCode::kInternal, call.what + ": the API server answered with something that is not JSON");
  }
  return parsed;
}

Result<Json> KubeClientImpl::get(const Resource& r, std::string_view ns, std::string_view name,
                                 const CallOptions& options) {
  Call c;
  c.path = resource_path(r, ns, name);
  c.what = describe("get", r, ns, name);
  c.options = &options;
  c.timeout = options_.request_timeout;
  return json_call(c);
}

Result<ObjectList> KubeClientImpl::list(const Resource& r, std::string_view ns, const ListOptions& options) {
  Call c;
  c.path = resource_path(r, ns);
  c.what = describe("list", r, ns, {});
  c.options = &options;
  c.timeout = options_.request_timeout;
  if (!options.label_selector.empty()) c.query.emplace_back("labelSelector", options.label_selector);
  if (!options.field_selector.empty()) c.query.emplace_back("fieldSelector", options.field_selector);
  if (options.limit > 0) c.query.emplace_back("limit", std::to_string(options.limit));
  if (!options.continue_token.empty()) c.query.emplace_back("continue", options.continue_token);
  if (!options.resource_version.empty()) c.query.emplace_back("resourceVersion", options.resource_version);
  auto body = json_call(c);
  if (!body) return body.error();
  ObjectList out;
  if (auto items = body->find("items"); items != body->end() && items->is_array()) {
    out.items.reserve(items->size());
    for (auto& item : *items) out.items.push_back(std::move(item));
  } else if (items != body->end() && !items->is_null()) {
    return Error(ErrorCode::kInternal, c.what + ": the answer's items is not a list");
  }
  // The server's answer is not trusted to have the right shape.
  auto text_at = [](const Json& j, const char* key) {
    if (!j.is_object()) return std::string();
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const Json meta = body->is_object() ? body->value("metadata", Json::object()) : Json::object();
  out.resource_version = text_at(meta, "resourceVersion");
  out.continue_token = text_at(meta, "continue");
  // List items carry no apiVersion/kind; give them the resource's.
  for (auto& item : out.items) item = with_type(r, std::move(item));
  return out;
}

Result<Json> KubeClientImpl::create(const Resource& r, const Json& object, const WriteOptions& options) {
  if (Status s = check_identity(r, object, "create"); !s) return s.error();
  const std::string ns = namespace_of(object);
  Call c;
  c.method = "POST";
  c.path = resource_path(r, ns);
  c.what = describe("create", r, ns, name_of(object).empty() ? meta_string(object, "generateName") : name_of(object));
  c.body = with_type(r, object).dump();
  c.content_type = "application/json";
  c.options = &options;
  c.timeout = options_.request_timeout;
  add_write_options(c.query, options);
  return json_call(c);
}

Result<Json> KubeClientImpl::put(const Resource& r, const Json& object, const WriteOptions& options,
                                 std::string_view subresource) {
  const char* verb = subresource.empty() ? "update" : "update status of";
  if (Status s = check_identity(r, object, verb); !s) return s.error();
  const std::string ns = namespace_of(object);
  const std::string name = name_of(object);
  Call c;
  c.method = "PUT";
  c.path = resource_path(r, ns, name, subresource);
  c.what = describe(verb, r, ns, name);
  c.body = with_type(r, object).dump();
  c.content_type = "application/json";
  c.options = &options;
  c.timeout = options_.request_timeout;
  add_write_options(c.query, options);
  return json_call(c);
}

Result<Json> KubeClientImpl::update(const Resource& r, const Json& object, const WriteOptions& options) {
  return put(r, object, options, {});
}

Result<Json> KubeClientImpl::update_status(const Resource& r, const Json& object, const WriteOptions& options) {
  return put(r, object, options, "status");
}

Result<Json> KubeClientImpl::patch(const Resource& r, std::string_view ns, std::string_view name, const Json& patch,
                                   const PatchOptions& options) {
  Call c;
  c.method = "PATCH";
  c.path = resource_path(r, ns, name, options.subresource);
  c.what = describe(options.type == PatchType::kApply ? "apply" : "patch", r, ns, name);
  if (!options.subresource.empty()) c.what += " (" + options.subresource + ")";
  if (options.type == PatchType::kApply && options.field_manager.empty()) {
    return Error(ErrorCode::kInvalidArgument, c.what + ": server-side apply needs a field manager");
  }
  // JSON is YAML, so an apply patch is sent as JSON; it must name its type.
  c.body = options.type == PatchType::kApply ? with_type(r, patch).dump() : patch.dump();
  c.content_type = content_type(options.type);
  c.options = &options;
  c.timeout = options_.request_timeout;
  add_write_options(c.query, options);
  if (options.force) c.query.emplace_back("force", "true");
  return json_call(c);
}

Result<Json> KubeClientImpl::remove(const Resource& r, std::string_view ns, std::string_view name,
                                    const DeleteOptions& options) {
  Call c;
  c.method = "DELETE";
  c.path = resource_path(r, ns, name);
  c.what = describe("delete", r, ns, name);
  c.options = &options;
  c.timeout = options_.request_timeout;
  Json body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}};
  bool has_body = false;
  if (!options.precondition_uid.empty()) {
    body["preconditions"]["uid"] = options.precondition_uid;
    has_body = true;
  }
  if (!options.precondition_resource_version.empty()) {
    body["preconditions"]["resourceVersion"] = options.precondition_resource_version;
    has_body = true;
  }
  if (options.propagation != Propagation::kDefault) {
    body["propagationPolicy"] = propagation_name(options.propagation);
    has_body = true;
  }
  if (options.grace_period_seconds) {
    body["gracePeriodSeconds"] = *options.grace_period_seconds;
    has_body = true;
  }
  if (has_body) {
    c.body = body.dump();
    c.content_type = "application/json";
  }
  return json_call(c);
}

Result<Json> KubeClientImpl::create_subresource(const Resource& r, std::string_view ns, std::string_view name,
                                                std::string_view subresource, const Json& body,
                                                const WriteOptions& options) {
  Call c;
  c.method = "POST";
  c.path = resource_path(r, ns, name, subresource);
  c.what = describe("create", r, ns, name) + " " + std::string(subresource);
  c.body = body.dump();
  c.content_type = "application/json";
  c.options = &options;
  c.timeout = options_.request_timeout;
  add_write_options(c.query, options);
  return json_call(c);
}

Status KubeClientImpl::watch(const Resource& r, std::string_view ns, const WatchOptions& options,
                             const WatchHandler& on_event) {
  Call c;
  c.path = resource_path(r, ns);
  c.what = describe("watch", r, ns, {});
  c.options = &options;
  c.query.emplace_back("watch", "true");
  if (!options.label_selector.empty()) c.query.emplace_back("labelSelector", options.label_selector);
  if (!options.field_selector.empty()) c.query.emplace_back("fieldSelector", options.field_selector);
  if (!options.resource_version.empty()) c.query.emplace_back("resourceVersion", options.resource_version);
  if (options.allow_bookmarks) c.query.emplace_back("allowWatchBookmarks", "true");
  if (options.timeout_seconds > 0) {
    c.query.emplace_back("timeoutSeconds", std::to_string(options.timeout_seconds));
    // The server ends the watch; this only catches a server that does not.
    c.timeout = std::chrono::seconds(options.timeout_seconds) + std::chrono::seconds(30);
  }
  WatchEventSink sink(on_event, c.what, options_.max_watch_event);
  auto response = send(c, &sink);
  if (!response) return response.error();
  if (!response->success()) return api_error(*response, c.what);
  return sink.close();
}

Result<ObjectList> list_all(KubeClient& client, const Resource& r, std::string_view ns, ListOptions options) {
  ObjectList all;
  for (bool first = true;; first = false) {
    auto page = client.list(r, ns, options);
    if (!page) return page.error();
    if (first) all.resource_version = page->resource_version;
    for (auto& item : page->items) all.items.push_back(std::move(item));
    if (page->continue_token.empty()) return all;
    options.continue_token = page->continue_token;
    // The continue token pins the snapshot; a version with it is refused.
    options.resource_version.clear();
  }
}

http::ClientConfig http_client_config(const KubeConfig& config) {
  http::ClientConfig h;
  h.ca_pem = config.ca_pem;
  h.ca_file = config.ca_file;
  h.client_cert_pem = config.client_cert_pem;
  h.client_key_pem = config.client_key_pem;
  h.client_cert = config.client_cert_file;
  h.client_key = config.client_key_file;
  h.verify_peer = !config.insecure_skip_tls_verify;
  h.keep_connections = true;  // a controller's every reconcile talks to the API server
  h.user_agent = "wscp";
  return h;
}

std::unique_ptr<KubeClient> make_kube_client(const KubeConfig& config, ClientOptions options,
                                             std::shared_ptr<Clock> clock) {
  std::shared_ptr<TokenSource> tokens;
  if (!config.token_file.empty()) tokens = std::make_shared<TokenSource>(config.token_file, std::move(clock));
  else if (!config.token.empty()) tokens = std::make_shared<TokenSource>(config.token);
  std::shared_ptr<http::Client> http(http::make_curl_client(http_client_config(config)));
  return std::make_unique<KubeClientImpl>(std::move(http), config.server, std::move(tokens), options);
}

}  // namespace wscp::kube
