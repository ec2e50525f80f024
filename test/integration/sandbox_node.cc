#include "sandbox_node.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <array>
#include <optional>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <thread>

#include "common/file_stream.h"
#include "common/memory_stream.h"
#include "podman/archive_tap.h"
#include "store/encryption_key.h"
#include "store/layout.h"
#include "store/store_url.h"

namespace wscp::testing {
namespace {

std::string run_command(const std::string& command) {
  std::array<char, 512> buffer;
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + command);
  while (fgets(buffer.data(), buffer.size(), pipe)) out += buffer.data();
  int rc = pclose(pipe);
  if (rc != 0) throw std::runtime_error(command + " failed: " + out);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string sandbox_script() {
  const char* s = std::getenv("WSCP_SANDBOX_SCRIPT");
  if (!s) throw std::runtime_error("WSCP_SANDBOX_SCRIPT is not set: run the integration tests through ctest");
  return s;
}

}  // namespace

SandboxNode::SandboxNode(const std::string& name) : name_(name) {
  socket_ = run_command(sandbox_script() + " socket " + name);
  root_ = run_command(sandbox_script() + " root " + name);
  http::ClientConfig config;
  config.unix_socket = socket_;
  http_ = http::make_curl_client(config);
  client_ = podman::make_libpod_client(socket_);
  engine_ = std::make_unique<podman::Engine>(*client_, engine_config());
}

podman::EngineConfig SandboxNode::engine_config() const {
  podman::EngineConfig config;
  config.host_root = root_;
  config.settle_time = std::chrono::milliseconds(1000);  // short in tests; the default is 5 s
  config.poll_interval = std::chrono::milliseconds(100);
  return config;
}

http::Response SandboxNode::call(const std::string& method, const std::string& path, const std::string& body) {
  http::Request req;
  req.method = method;
  req.url = "http://d/v4.0.0/libpod/" + path;
  req.body = body;
  if (!body.empty()) req.headers.push_back({"Content-Type", "application/json"});
  auto r = http_->send(req);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().describe()));
  return *r;
}

void SandboxNode::ensure_testbox() {
  auto mine = client_->find_image("localhost/wscp-testbox:latest");
  REQUIRE(mine.ok());
  if (name_ == "node-1") {
    if (*mine) return;
  } else {
    // Ship node-1's copy: an image imported twice gets two ids, and a
    // checkpoint only restores onto the image id it was made on.
    SandboxNode first("node-1");
    first.ensure_testbox();
    auto theirs = first.client().find_image("localhost/wscp-testbox:latest");
    REQUIRE(theirs.ok());
    REQUIRE(theirs->has_value());
    if (*mine && (*mine)->id == (*theirs)->id) return;
    if (*mine) remove_testbox();
    TempDir dir;
    auto out = FileSink::create(dir.path() / "image.tar");
    REQUIRE(out.ok());
    REQUIRE(first.client().export_image("localhost/wscp-testbox:latest", **out, OperationContext{}).ok());
    REQUIRE((*out)->close().ok());
    auto in = FileSource::open(dir.path() / "image.tar");
    REQUIRE(in.ok());
    auto loaded = client_->load_image(**in, OperationContext{});
    REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.error().describe()));
    return;
  }
  import_testbox_as("localhost/wscp-testbox:latest");
}

std::string SandboxNode::import_testbox_as(const std::string& reference) {
  const char* tar = std::getenv("WSCP_TESTBOX_TAR");
  REQUIRE_MESSAGE(tar, "WSCP_TESTBOX_TAR is not set");
  auto source = FileSource::open(tar);
  REQUIRE(source.ok());
  http::Request req;
  req.method = "POST";
  req.url = "http://d/v4.0.0/libpod/images/import?reference=" + http::url_encode(reference);
  req.headers.push_back({"Content-Type", "application/x-tar"});
  req.body_stream = source->get();
  auto r = http_->send(req);
  REQUIRE(r.ok());
  REQUIRE_MESSAGE(r->success(), r->body);
  std::string id = nlohmann::json::parse(r->body).at("Id").get<std::string>();
  return id.starts_with("sha256:") ? id.substr(7) : id;
}

void SandboxNode::save(const std::string& path, const std::filesystem::path& file) {
  auto sink = FileSink::create(file);
  REQUIRE(sink.ok());
  http::Request req;
  req.url = "http://d/v4.0.0/libpod/" + path;
  auto r = http_->send(req, sink->get());
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().describe()));
  REQUIRE_MESSAGE(r->success(), r->body);
  REQUIRE((*sink)->close().ok());
}

void SandboxNode::remove_testbox() {
  call("DELETE", "images/localhost%2Fwscp-testbox:latest?force=true");
}

std::string SandboxNode::run(const std::string& name, const std::vector<std::string>& command,
                             const nlohmann::json& extra) {
  ensure_testbox();
  nlohmann::json spec{{"name", name},
                      {"image", "localhost/wscp-testbox:latest"},
                      {"command", command},
                      {"labels", {{"dev.containers.id", name}}}};
  spec.update(extra);  // extra["labels"], when given, replaces the default label
  auto created = call("POST", "containers/create", spec.dump());
  REQUIRE_MESSAGE(created.success(), created.body);
  auto started = call("POST", "containers/" + name + "/start");
  REQUIRE_MESSAGE(started.success(), started.body);
  return nlohmann::json::parse(created.body).at("Id").get<std::string>();
}

void SandboxNode::remove(const std::string& name) { call("DELETE", "containers/" + name + "?force=true"); }

std::string SandboxNode::read_file(const std::string& container, const std::string& path) {
  NullSink discard;
  std::string member = std::filesystem::path(path).filename();
  podman::ArchiveTap tap(discard, {member});
  http::Request req;
  req.url = "http://d/v4.0.0/libpod/containers/" + container + "/archive?path=" + http::url_encode(path);
  req.timeout = std::chrono::seconds(10);
  auto r = http_->send(req, &tap);
  if (!r.ok() || !r->success()) return {};
  return tap.member(member).value_or("");
}

long long SandboxNode::count(const std::string& container) {
  std::string text = read_file(container, "/var/wscp/count");
  return text.empty() ? -1 : std::stoll(text);
}

bool eventually(std::chrono::seconds timeout, const std::function<bool()>& pred) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

TempDir::TempDir() {
  char tmpl[] = "/var/tmp/wscp-test-XXXXXX";
  char* dir = mkdtemp(tmpl);
  if (!dir) throw std::runtime_error("mkdtemp failed");
  path_ = dir;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

StoreFixture::StoreFixture(std::unique_ptr<store::ObjectStore> shared) {
  if (shared) {
    objects = std::move(shared);
  } else {
    auto opened = store::open_object_store("file://" + dir.path().string());
    REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().describe()));
    objects = std::move(*opened);
  }
  std::string hex;
  std::mt19937_64 rng{std::random_device{}()};
  for (int i = 0; i < 4; ++i) {
    char part[17];
    std::snprintf(part, sizeof part, "%016llx", static_cast<unsigned long long>(rng()));
    hex += part;
  }
  auto key = store::parse_key(hex);
  REQUIRE(key.ok());
  store::CheckpointStoreOptions options;
  options.pipeline.encryption_key = *key;
  checkpoints = std::make_unique<store::CheckpointStore>(*objects, options);
  documents = std::make_unique<migration::ObjectDocuments>(*objects);
}

std::vector<store::ObjectInfo> StoreFixture::checkpoint_objects(const std::string& workspace_id,
                                                                const std::string& checkpoint_id) {
  auto listed = objects->list(store::layout::checkpoint_prefix(workspace_id, checkpoint_id));
  REQUIRE_MESSAGE(listed.ok(), (listed.ok() ? "" : listed.error().describe()));
  return *listed;
}

std::filesystem::path StoreFixture::largest_object(const std::string& workspace_id, const std::string& checkpoint_id) {
  std::optional<store::ObjectInfo> largest;
  for (const auto& o : checkpoint_objects(workspace_id, checkpoint_id)) {
    if (!largest || o.size > largest->size) largest = o;
  }
  REQUIRE_MESSAGE(largest.has_value(), "checkpoint " << checkpoint_id << " has no objects");
  auto file = dir.path() / largest->key;
  REQUIRE_MESSAGE(std::filesystem::is_regular_file(file), file.string() << " is not the object's file");
  return file;
}

NodePhases::NodePhases(const std::string& name, podman::Engine& engine, StoreFixture& store) {
  auto journal = migration::DirectoryJournal::open(journal_dir_.path() / "journal");
  REQUIRE_MESSAGE(journal.ok(), (journal.ok() ? "" : journal.error().describe()));
  journal_ = std::move(*journal);
  services_ = std::make_unique<migration::NodeServices>(migration::NodeServices{
      name, engine, *store.checkpoints, *store.documents, *journal_, faults_, *clock_, {}});
}

Result<migration::MigrationReport> migrate(NodePhases& from, NodePhases& to, const migration::PlanRequest& request,
                                           const OperationContext& ctx) {
  return migration::migrate_workspace(from.services(), to.services(), request, ctx);
}

migration::MigrationReport migrate_ok(NodePhases& from, NodePhases& to, const std::string& workspace,
                                      migration::PlanRequest request) {
  request.workspace = workspace;
  auto report = migrate(from, to, request);
  REQUIRE_MESSAGE(report.ok(), (report.ok() ? "" : report.error().describe()));
  INFO((report->failure ? report->failure->describe() : ""));
  REQUIRE(report->outcome == migration::Outcome::kMigrated);
  CHECK(report->warnings.empty());
  CHECK(journal_empty(from));
  CHECK(journal_empty(to));
  return std::move(*report);
}

bool journal_empty(NodePhases& node) {
  auto pending = node.journal().pending();
  REQUIRE_MESSAGE(pending.ok(), (pending.ok() ? "" : pending.error().describe()));
  return pending->empty();
}

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
}

}  // namespace wscp::testing
