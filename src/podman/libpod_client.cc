#include "podman/libpod_client.h"

#include <nlohmann/json.hpp>

#include "podman/libpod_errors.h"

namespace wscp::podman {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kPrefix = "http://d/v4.0.0/libpod/";
// Quick calls (inspect, exists) must not hang on a wedged service.
constexpr auto kQuickTimeout = 60s;
// Archive transfers have no total limit, but a service that sends nothing
// for this long is considered dead. Podman writes the whole export to a
// temporary file before the first byte, so this covers the dump itself.
constexpr auto kStallTimeout = 600s;

std::string flag(bool v) { return v ? "true" : "false"; }

// "localhost/box:1" -> repo "localhost/box", tag "1" (a ':' before the last
// '/' is a registry's port, not a tag).
std::pair<std::string, std::string> repo_and_tag(const std::string& name) {
  auto colon = name.rfind(':');
  auto slash = name.rfind('/');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) return {name, "latest"};
  return {name.substr(0, colon), name.substr(colon + 1)};
}

class LibpodClient final : public PodmanClient {
 public:
  LibpodClient(std::unique_ptr<http::Client> http, std::string where)
      : http_(std::move(http)), where_(std::move(where)) {}

  Result<HostInfo> info() override {
    auto j = get_json("info");
    if (!j.ok()) return j.error();
    return parse_host_info(*j);
  }

  Result<ContainerInfo> inspect_container(const std::string& name) override {
    auto j = get_json("containers/" + http::url_encode(name) + "/json");
    if (!j.ok()) return j.error();
    return parse_container_inspect(*j);
  }

  Result<std::vector<ContainerSummary>> list_containers(const std::string& label_filter) override {
    std::string path = "containers/json?all=true";
    if (!label_filter.empty()) {
      path += "&filters=" + http::url_encode(json{{"label", {label_filter}}}.dump());
    }
    auto j = get_json(path);
    if (!j.ok()) return j.error();
    return parse_container_list(*j);
  }

  Result<std::uint64_t> memory_usage(const std::string& name) override {
    auto j = get_json("containers/stats?stream=false&containers=" + http::url_encode(name));
    if (!j.ok()) return j.error();
    auto usage = parse_memory_usage(*j);
    if (!usage) return usage.error().wrap("memory usage of " + name);
    return usage;
  }

  Result<bool> container_exists(const std::string& name) override {
    return exists("containers/" + http::url_encode(name) + "/exists");
  }

  Status remove_container(const std::string& name, bool force) override {
    auto r = call("DELETE", "containers/" + http::url_encode(name) + "?force=" + flag(force) + "&v=false");
    if (!r.ok()) return r.error();
    if (!r->success()) return libpod_error(*r, "remove container " + name, ErrorCode::kInternal);
    return Ok{};
  }

  Status rename_container(const std::string& name, const std::string& new_name) override {
    auto r = call("POST", "containers/" + http::url_encode(name) + "/rename?name=" + http::url_encode(new_name));
    if (!r.ok()) return r.error();
    if (!r->success()) return libpod_error(*r, "rename container " + name + " to " + new_name, ErrorCode::kInternal);
    return Ok{};
  }

  Status checkpoint(const std::string& name, const CheckpointOptions& o, ByteSink& archive,
                    const OperationContext& ctx) override {
    std::string path = "containers/" + http::url_encode(name) + "/checkpoint?export=true" +
                       "&leaveRunning=" + flag(o.leave_running) + "&keep=" + flag(o.keep) +
                       "&tcpEstablished=" + flag(o.tcp_established) + "&fileLocks=" + flag(o.file_locks) +
                       "&ignoreRootFS=" + flag(o.ignore_rootfs) + "&preCheckpoint=" + flag(o.pre_checkpoint) +
                       "&withPrevious=" + flag(o.with_previous);
    http::Request req = request("POST", path);
    req.stall_timeout = kStallTimeout;
    req.cancel = ctx.cancel.get();
    auto r = http_->send(req, &archive);
    if (!r.ok()) return r.error().wrap("checkpoint " + name + " on " + where_);
    if (!r->success()) return libpod_error(*r, "checkpoint " + name, ErrorCode::kCheckpointFailed);
    return Ok{};
  }

  Result<std::string> restore(ByteSource& archive, const RestoreOptions& o, const OperationContext& ctx,
                              std::chrono::milliseconds timeout) override {
    std::string path = "containers/import/restore?import=true&keep=" + flag(o.keep) +
                       "&ignoreStaticIP=" + flag(o.ignore_static_ip) +
                       "&ignoreStaticMAC=" + flag(o.ignore_static_mac) +
                       "&tcpEstablished=" + flag(o.tcp_established) + "&fileLocks=" + flag(o.file_locks) +
                       "&ignoreRootFS=" + flag(o.ignore_rootfs) + "&ignoreVolumes=" + flag(o.ignore_volumes);
    if (o.name) path += "&name=" + http::url_encode(*o.name);
    for (const auto& port : o.publish_ports) path += "&publishPorts=" + http::url_encode(port);
    http::Request req = request("POST", path);
    req.headers.push_back({"Content-Type", "application/x-tar"});
    req.body_stream = &archive;
    // Podman answers only when its restore is done, so a stall limit would
    // be a limit on the restore: bounded by the caller's timeout instead.
    if (timeout.count() > 0) req.timeout = timeout;
    else req.stall_timeout = kStallTimeout;
    req.cancel = ctx.cancel.get();
    auto r = http_->send(req);
    if (!r.ok()) return r.error().wrap("restore on " + where_);
    if (!r->success()) return libpod_error(*r, "restore", ErrorCode::kRestoreFailed);
    return restored_id(*r);
  }

  Result<std::string> restore_in_place(const std::string& name, const RestoreOptions& o) override {
    http::Request req = request("POST", "containers/" + http::url_encode(name) + "/restore?keep=true" +
                                            "&tcpEstablished=" + flag(o.tcp_established) +
                                            "&fileLocks=" + flag(o.file_locks));
    req.stall_timeout = kStallTimeout;
    auto r = http_->send(req);
    if (!r.ok()) return r.error().wrap("restore " + name + " in place on " + where_);
    if (!r->success()) return libpod_error(*r, "restore " + name + " in place", ErrorCode::kRestoreFailed);
    return restored_id(*r);
  }

  Result<std::optional<ImageInfo>> find_image(const std::string& name_or_id) override {
    auto r = call("GET", "images/" + http::url_encode(name_or_id) + "/json");
    if (!r.ok()) return r.error();
    if (r->status == 404) return std::optional<ImageInfo>();
    if (!r->success()) return libpod_error(*r, "inspect image " + name_or_id, ErrorCode::kInternal);
    auto j = parse_body(*r, "image inspect");
    if (!j.ok()) return j.error();
    auto info = parse_image_inspect(*j);
    if (!info.ok()) return info.error();
    return std::optional<ImageInfo>(std::move(*info));
  }

  Status export_image(const std::string& name, ByteSink& out, const OperationContext& ctx) override {
    http::Request req = request("GET", "images/" + http::url_encode(name) + "/get?format=oci-archive");
    req.stall_timeout = kStallTimeout;
    req.cancel = ctx.cancel.get();
    auto r = http_->send(req, &out);
    if (!r.ok()) return r.error().wrap("export image " + name + " from " + where_);
    if (!r->success()) return libpod_error(*r, "export image " + name, ErrorCode::kInternal);
    return Ok{};
  }

  Result<std::vector<std::string>> load_image(ByteSource& in, const OperationContext& ctx) override {
    http::Request req = request("POST", "images/load");
    req.headers.push_back({"Content-Type", "application/x-tar"});
    req.body_stream = &in;
    req.stall_timeout = kStallTimeout;
    req.cancel = ctx.cancel.get();
    auto r = http_->send(req);
    if (!r.ok()) return r.error().wrap("load image on " + where_);
    if (!r->success()) return libpod_error(*r, "load image", ErrorCode::kInternal);
    auto j = parse_body(*r, "image load");
    if (!j.ok()) return j.error();
    std::vector<std::string> names;
    if (auto it = j->find("Names"); j->is_object() && it != j->end() && it->is_array()) {
      for (const auto& n : *it) {
        if (n.is_string()) names.push_back(n.get<std::string>());
      }
    }
    return names;
  }

  Result<std::vector<ImageInfo>> list_images() override {
    auto j = get_json("images/json");
    if (!j.ok()) return j.error();
    return parse_image_list(*j);
  }

  Status tag_image(const std::string& id, const std::string& name) override {
    return image_name_call("tag", id, name);
  }

  Status untag_image(const std::string& id, const std::string& name) override {
    return image_name_call("untag", id, name);
  }

  Status remove_image(const std::string& id) override {
    auto r = call("DELETE", "images/" + http::url_encode(id) + "?force=false");
    if (!r.ok()) return r.error();
    if (!r->success()) return libpod_error(*r, "remove image " + id, ErrorCode::kInternal);
    return Ok{};
  }

  Result<bool> network_exists(const std::string& name) override {
    return exists("networks/" + http::url_encode(name) + "/exists");
  }

  Status create_network(const std::string& name) override {
    http::Request req = request("POST", "networks/create");
    req.headers.push_back({"Content-Type", "application/json"});
    req.body = json{{"name", name}}.dump();
    req.timeout = kQuickTimeout;
    auto r = http_->send(req);
    if (!r.ok()) return r.error().wrap("create network " + name + " on " + where_);
    if (!r->success()) return libpod_error(*r, "create network " + name, ErrorCode::kInternal);
    return Ok{};
  }

  Result<bool> volume_exists(const std::string& name) override {
    return exists("volumes/" + http::url_encode(name) + "/exists");
  }

 private:
  // A restore answer must name the container; an empty id is a failure.
  Result<std::string> restored_id(const http::Response& r) const {
    auto body = parse_body(r, "restore");
    if (!body.ok()) return body.error();
    std::string id;
    if (auto it = body->find("Id"); body->is_object() && it != body->end() && it->is_string()) {
      id = it->get<std::string>();
    }
    if (id.empty()) {
      return Error(ErrorCode::kRestoreFailed,
                   "libpod on " + where_ + " answered the restore without a container id: " + r.body);
    }
    return id;
  }

  http::Request request(const std::string& method, const std::string& path) const {
    http::Request req;
    req.method = method;
    req.url = kPrefix + path;
    return req;
  }

  Result<http::Response> call(const std::string& method, const std::string& path) {
    http::Request req = request(method, path);
    req.timeout = kQuickTimeout;
    auto r = http_->send(req);
    if (!r.ok()) return r.error().wrap("libpod on " + where_ + " (is the Podman service running?)");
    return r;
  }

  Result<json> parse_body(const http::Response& r, const std::string& what) const {
    json j = json::parse(r.body, nullptr, false);
    if (j.is_discarded()) {
      return Error(ErrorCode::kInternal, "libpod on " + where_ + " answered " + what + " with invalid JSON");
    }
    return j;
  }

  Result<json> get_json(const std::string& path) {
    auto r = call("GET", path);
    if (!r.ok()) return r.error();
    if (!r->success()) return libpod_error(*r, "GET " + path, ErrorCode::kInternal);
    return parse_body(*r, path);
  }

  Status image_name_call(const std::string& verb, const std::string& id, const std::string& name) {
    auto [repo, tag] = repo_and_tag(name);
    auto r = call("POST", "images/" + http::url_encode(id) + "/" + verb + "?repo=" + http::url_encode(repo) +
                              "&tag=" + http::url_encode(tag));
    if (!r.ok()) return r.error();
    if (!r->success()) return libpod_error(*r, verb + " image " + id + " as " + name, ErrorCode::kInternal);
    return Ok{};
  }

  Result<bool> exists(const std::string& path) {
    auto r = call("GET", path);
    if (!r.ok()) return r.error();
    if (r->status == 204 || r->status == 200) return true;
    if (r->status == 404) return false;
    return libpod_error(*r, "GET " + path, ErrorCode::kInternal);
  }

  Error libpod_error(const http::Response& r, const std::string& what, ErrorCode fallback) const {
    return libpod_error_from_response(r.status, r.body, what + " on " + where_, fallback);
  }

  std::unique_ptr<http::Client> http_;
  std::string where_;
};

}  // namespace

std::unique_ptr<PodmanClient> make_libpod_client(std::string socket_path) {
  http::ClientConfig config;
  config.unix_socket = socket_path;
  return make_libpod_client(http::make_curl_client(std::move(config)), std::move(socket_path));
}

std::unique_ptr<PodmanClient> make_libpod_client(std::unique_ptr<http::Client> http,
                                                 std::string description) {
  return std::make_unique<LibpodClient>(std::move(http), std::move(description));
}

}  // namespace wscp::podman
