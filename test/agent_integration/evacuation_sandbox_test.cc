// The evacuation end to end: `wscp-agent serve` on both sandbox nodes (real
// Podman + CRIU), a termination notice from the metadata emulator, and the
// operations API with client certificates made by make_pki.sh. Node-1's
// agent checkpoints its three workspaces (two containers and a compose
// project) on its own; node-2's agent restores one of them through the API,
// which claims it; after the deadline and the grace period node-1 resumes
// the two nobody claimed, and finds the third moved.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "agent/tls/certificate.h"
#include "agent_env.h"
#include "sandbox_node.h"
#include "serve_process.h"

using namespace std::chrono_literals;
using nlohmann::json;
namespace at = wscp::agent::testing;
namespace wt = wscp::testing;

namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string rfc3339_in(std::chrono::seconds from_now) {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + from_now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  return std::string(buf, std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm));
}

// One node's agent daemon, with its API client.
class NodeAgent {
 public:
  NodeAgent(const std::string& node, const std::string& socket, const std::filesystem::path& dir,
            const std::string& pki, const std::string& store, const std::string& emulator_url)
      : port_(at::free_port()) {
    std::filesystem::create_directories(dir);
    const std::string config = (dir / "agent.yaml").string();
    {
      std::ofstream out(config);
      out << "version: 1\n"
          << "node_name: " << node << "\n"
          << "podman_socket: " << socket << "\n"
          << "journal_dir: " << (dir / "journal").string() << "\n"
          << "settle_period: 1s\n"
          << "memory_budget: 128MiB\n"
          << "operations: {workers: 2, transfer_buffer: 64MiB, shutdown_grace: 5s}\n"
          << "api:\n"
          << "  address: 127.0.0.1\n"
          << "  port: " << port_ << "\n"
          << "  tls:\n"
          << "    client_ca: " << pki << "/ca.crt\n"
          << "    key: " << (dir / "tls/serving.key").string() << "\n"
          << "    cert: " << (dir / "tls/serving.crt").string() << "\n"
          << "    serving_names: [127.0.0.1]\n"
          << "stores:\n"
          << "  main: {url: \"file://" << store << "\", compression_level: 0}\n"
          << "metrics: {enabled: false}\n"
          << "logging: {format: json, level: info}\n";
      if (!emulator_url.empty()) {
        out << "notices:\n"
            << "  default_window: 30s\n"
            << "  resume_grace: 45s\n"
            << "  aws: {enabled: true, base_url: \"" << emulator_url << "\", poll_interval: 200ms}\n";
      }
    }
    process_ = std::make_unique<at::ServeProcess>(config, (dir / "agent.log").string());
    const auto cert = dir / "tls/serving.crt";
    REQUIRE_MESSAGE(at::eventually(20s,
                                   [&] {
                                     return process_->exited() ||
                                            read_all(cert).find("-----END CERTIFICATE-----") != std::string::npos;
                                   }),
                    log());
    REQUIRE_MESSAGE(!process_->exited(), log());
    client_ = at::agent_api_client(pki, read_all(cert));
    REQUIRE_MESSAGE(at::eventually(20s, [&] { return get("/healthz").first == 200 || process_->exited(); }), log());
  }

  std::string log() const { return process_->log(); }

  std::pair<int, json> call(const std::string& method, const std::string& path, const json& body = nullptr) {
    wscp::http::Request r;
    r.method = method;
    r.url = "https://127.0.0.1:" + std::to_string(port_) + path;
    r.timeout = 30s;
    if (!body.is_null()) {
      r.body = body.dump();
      r.headers.push_back({"Content-Type", "application/json"});
    }
    auto resp = client_->send(r);
    if (!resp) return {0, json{{"transport", resp.error().describe()}}};
    return {resp->status, json::parse(resp->body, nullptr, false)};
  }
  std::pair<int, json> get(const std::string& path) { return call("GET", path); }

  // Starts an operation and waits for its end; returns it.
  json run_operation(const json& request, std::chrono::seconds timeout = 120s) {
    auto [status, started] = call("POST", "/v1/operations", request);
    REQUIRE_MESSAGE((status == 202 || status == 200), (started.dump() + "\n" + log()));
    json op;
    REQUIRE_MESSAGE(at::eventually(timeout,
                                   [&] {
                                     op = get("/v1/operations/" + request.at("id").get<std::string>()).second;
                                     const std::string state = op.value("state", "");
                                     return state == "succeeded" || state == "failed" || state == "cancelled";
                                   },
                                   200ms),
                    (op.dump() + "\n" + log()));
    return op;
  }

 private:
  std::uint16_t port_;
  std::unique_ptr<at::ServeProcess> process_;
  std::unique_ptr<wscp::http::Client> client_;
};

json entry_for(const json& evacuation, const std::string& workspace) {
  for (const auto& w : evacuation.at("workspaces"))
    if (w.at("workspace") == workspace) return w;
  return nullptr;
}

}  // namespace

TEST_CASE("evacuation: a spot notice checkpoints every workspace; one restored elsewhere, the others resume in place") {
  at::Emulator emulator;
  wt::SandboxNode n1("node-1"), n2("node-2");
  n1.ensure_testbox();
  n2.ensure_testbox();
  wt::TempDir dir;
  const std::string pki = (dir.path() / "pki").string();
  auto made = at::run_command("'" + std::string(WSCP_AGENT_INTEGRATION_DIR) + "/make_pki.sh' '" + pki + "'");
  REQUIRE_MESSAGE(made.status == 0, made.output);
  const std::string store = (dir.path() / "store").string();
  std::filesystem::create_directories(store);

  // Three workspaces on node-1: two containers and a two-service project.
  const std::string moved = wt::unique_name("evac-moved");
  const std::string stays = wt::unique_name("evac-stays");
  const std::string project = wt::unique_name("evacproj");
  const std::vector<std::string> counter{"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"};
  n1.run(moved, counter, {{"labels", {{"dev.containers.id", moved}}}});
  n1.run(stays, counter, {{"labels", {{"dev.containers.id", stays}}}});
  for (const std::string service : {"dev", "db"}) {
    json labels{{"com.docker.compose.project", project}, {"com.docker.compose.service", service}};
    if (service == std::string("dev")) labels["dev.containers.id"] = project;
    n1.run(project + "-" + service, counter, {{"labels", labels}});
  }
  const std::vector<std::string> containers{moved, stays, project + "-dev", project + "-db"};
  REQUIRE(wt::eventually(30s, [&] {
    for (const auto& c : containers)
      if (n1.count(c) < 5) return false;
    return true;
  }));

  NodeAgent agent1("node-1", n1.socket(), dir.path() / "node-1", pki, store, emulator.url());
  NodeAgent agent2("node-2", n2.socket(), dir.path() / "node-2", pki, store, "");
  CHECK(agent1.get("/v1/evacuation").first == 404);  // nothing before a notice

  // The notice: the node goes in 60 s.
  emulator.post("/_emulator/aws/instance-action", json{{"action", "terminate"}, {"time", rfc3339_in(60s)}});
  json evacuation;
  REQUIRE_MESSAGE(at::eventually(120s,
                                 [&] {
                                   auto [status, body] = agent1.get("/v1/evacuation");
                                   if (status != 200) return false;
                                   evacuation = body;
                                   for (const auto& w : body.at("workspaces"))
                                     if (w.at("state") == "checkpointing") return false;
                                   return true;
                                 },
                                 250ms),
                  (evacuation.dump(2) + "\n" + agent1.log()));
  INFO(evacuation.dump(2));
  REQUIRE(evacuation.at("workspaces").size() == 3);
  const std::string checkpoint_id = evacuation.at("checkpointId");
  for (const auto& w : evacuation.at("workspaces")) {
    CHECK(w.at("state") == "checkpointed");
    CHECK(w.at("deadlineMet") == true);
    CHECK(w.at("checkpointId") == checkpoint_id);
  }
  CHECK(entry_for(evacuation, project).value("project", "") == project);
  CHECK(evacuation.at("notice").at("provider") == "aws");
  for (const auto& c : containers) CHECK_FALSE(n1.client().inspect_container(c)->running());
  const long long moved_count = n1.count(moved);

  // Node-2's agent restores one of them: its claim makes it node-2's.
  json restored = agent2.run_operation(
      {{"id", "restore-" + moved}, {"kind", "restore"}, {"workspace", moved}, {"checkpointId", checkpoint_id}});
  REQUIRE_MESSAGE(restored.at("state") == "succeeded", (restored.dump(2) + "\n" + agent2.log()));
  CHECK(n2.client().inspect_container(moved)->running());
  CHECK(wt::eventually(30s, [&] { return n2.count(moved) > moved_count; }));

  // Deadline (60 s) + grace (45 s): node-1 resumes the two nobody claimed.
  REQUIRE_MESSAGE(at::eventually(150s,
                                 [&] {
                                   evacuation = agent1.get("/v1/evacuation").second;
                                   for (const auto& w : evacuation.at("workspaces")) {
                                     const std::string s = w.at("state");
                                     if (s == "checkpointed" || s == "resuming") return false;
                                   }
                                   return true;
                                 },
                                 500ms),
                  (evacuation.dump(2) + "\n" + agent1.log()));
  CHECK(entry_for(evacuation, moved).at("state") == "moved");
  CHECK(entry_for(evacuation, stays).at("state") == "resumed");
  CHECK(entry_for(evacuation, project).at("state") == "resumed");
  for (const auto& c : {stays, project + "-dev", project + "-db"}) {
    CHECK_MESSAGE(n1.client().inspect_container(c)->running(), c);
  }
  const long long stays_count = n1.count(stays);
  CHECK(wt::eventually(30s, [&] { return n1.count(stays) > stays_count; }));

  // The source lets go of the moved one: it runs exactly once, on node-2.
  json released = agent1.run_operation(
      {{"id", "release-" + moved}, {"kind", "release"}, {"workspace", moved}, {"checkpointId", checkpoint_id}});
  CHECK_MESSAGE(released.at("state") == "succeeded", released.dump(2));
  CHECK_FALSE(*n1.client().container_exists(moved));
  CHECK(n2.client().inspect_container(moved)->running());

  for (const auto& c : {stays, project + "-dev", project + "-db"}) n1.remove(c);
  n2.remove(moved);
}
