// The daemon's metrics and logs as its operators see them: `wscp-agent serve`
// on both sandbox nodes (real Podman + CRIU) moves a workspace through the
// mTLS API; a real Prometheus (fixture "prometheus") scrapes node-1's agent
// and a query returns the checkpoint just run; promtool lints what the
// daemon itself serves; the step histograms and byte counters hold what the
// move did; every log line about an operation names it.
#include <doctest/doctest.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "node_agent.h"
#include "prometheus_env.h"
#include "sandbox_node.h"

using namespace std::chrono_literals;
using nlohmann::json;
namespace at = wscp::agent::testing;
namespace wt = wscp::testing;

namespace {

json request(const std::string& id, const std::string& kind, const std::string& workspace,
             const std::string& checkpoint) {
  return {{"id", id}, {"kind", kind}, {"workspace", workspace}, {"checkpointId", checkpoint}};
}

// The log's JSON lines about operation `id`; every line must be JSON, and
// every line whose message is about an operation must say which.
std::vector<json> operation_lines(const std::string& log, const std::string& id) {
  std::vector<json> mine;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto j = json::parse(line, nullptr, false);
    REQUIRE_MESSAGE(j.is_object(), line);
    const std::string msg = j.value("msg", "");
    if (msg.rfind("operation ", 0) == 0) CHECK_MESSAGE(j.contains("operation"), line);
    if (j.value("operation", "") == id) mine.push_back(j);
  }
  return mine;
}

}  // namespace

TEST_CASE("daemon metrics: Prometheus scrapes the agent that ran the checkpoint; steps, bytes and logs say what it "
          "did") {
  const auto prometheus = at::PrometheusServer::from_fixture();
  wt::SandboxNode n1("node-1"), n2("node-2");
  n1.ensure_testbox();
  n2.ensure_testbox();
  wt::TempDir dir;
  const at::PkiAndStore scene(dir.path());
  auto config = [&](const std::string& node, const std::string& socket, std::uint16_t metrics_port) {
    at::NodeAgentConfig c = scene.agent(node, socket, 3);
    c.metrics_port = metrics_port;
    return c;
  };
  const std::string name = wt::unique_name("metrics-counter");
  n1.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"}, {{"labels", {{"dev.containers.id", name}}}});
  REQUIRE(wt::eventually(30s, [&] { return n1.count(name) >= 10; }));
  at::NodeAgent agent1(config("node-1", n1.socket(), prometheus.target_port));
  const std::uint16_t metrics2 = at::free_port();
  at::NodeAgent agent2(config("node-2", n2.socket(), metrics2));
  const std::string cp = "cp-" + name;

  const json checkpointed = agent1.run_operation(request("checkpoint-" + name, "checkpoint", name, cp));
  REQUIRE_MESSAGE(checkpointed.at("state") == "succeeded", (checkpointed.dump(2) + "\n" + agent1.log()));
  const json restored = agent2.run_operation(request("restore-" + name, "restore", name, cp));
  REQUIRE_MESSAGE(restored.at("state") == "succeeded", (restored.dump(2) + "\n" + agent2.log()));
  const json released = agent1.run_operation(request("release-" + name, "release", name, cp));
  REQUIRE_MESSAGE(released.at("state") == "succeeded", (released.dump(2) + "\n" + agent1.log()));
  const long long first_on_node2 = n2.count(name);
  CHECK(wt::eventually(30s, [&] { return n2.count(name) > first_on_node2; }));

  {  // the operations' results say where the time went
    const json& source_steps = checkpointed.at("result").at("stepDurationsMs");
    for (const char* step : {"freeze", "dump", "upload"}) CHECK_MESSAGE(source_steps.contains(step), source_steps.dump());
    CHECK(source_steps.at("dump").get<std::int64_t>() > 0);  // CRIU's dump takes time; 0 would mean unmeasured
    const json& destination_steps = restored.at("result").at("stepDurationsMs");
    for (const char* step : {"download", "restore", "settle"})
      CHECK_MESSAGE(destination_steps.contains(step), destination_steps.dump());
    // Settling waits out the configured settle period (1 s).
    CHECK(destination_steps.at("settle").get<std::int64_t>() >= 900);
  }

  {  // each agent's own exposition counts the steps and bytes, and passes promtool
    const std::string source = at::scrape_metrics(prometheus.target_port);
    const std::string destination = at::scrape_metrics(metrics2);
    CHECK(at::sample_value(source, R"(wscp_agent_operations_total{kind="checkpoint",result="succeeded"})") == 1);
    CHECK(at::sample_value(source, R"(wscp_agent_operations_total{kind="release",result="succeeded"})") == 1);
    for (const char* step : {"freeze", "dump", "upload"})
      CHECK_MESSAGE(at::sample_value(source, std::string(R"(wscp_agent_step_duration_seconds_count{step=")") + step +
                                                 "\"}") == 1,
                    step);
    const auto archive_bytes = checkpointed.at("result").at("archiveBytes").get<double>();
    // Bytes as Podman wrote and read them: the whole archive each way.
    const double uploaded = at::sample_value(source, R"(wscp_agent_transferred_bytes_total{direction="upload"})");
    CHECK(uploaded >= archive_bytes * 0.99);
    CHECK(at::sample_value(destination, R"(wscp_agent_operations_total{kind="restore",result="succeeded"})") == 1);
    for (const char* step : {"download", "restore", "settle"})
      CHECK_MESSAGE(at::sample_value(destination, std::string(R"(wscp_agent_step_duration_seconds_count{step=")") +
                                                      step + "\"}") == 1,
                    step);
    const double downloaded = at::sample_value(destination, R"(wscp_agent_transferred_bytes_total{direction="download"})");
    CHECK(downloaded > 0);
    CHECK(downloaded >= archive_bytes * 0.99);  // the whole archive reached Podman,
    CHECK(downloaded <= archive_bytes * 1.01);  // once (node-2 has the image: no image came down)
    for (const std::string* text : {&source, &destination}) {
      auto lint = at::promtool_check(*text);
      CAPTURE(lint.output);
      CHECK(lint.status == 0);
      CHECK(lint.output.empty());
    }
  }

  {  // a real Prometheus has scraped the checkpoint, its dump, and the agent up
    const std::string promql =
        R"(wscp_agent_operations_total{job="wscp-agent",kind="checkpoint",result="succeeded"})";
    json result;
    CHECK_MESSAGE(at::eventually(60s,
                                 [&] {
                                   result = prometheus.query(promql);
                                   return result.is_array() && result.size() == 1 && result[0]["value"][1] == "1";
                                 },
                                 200ms),
                  result.dump());
    CHECK_MESSAGE(at::eventually(30s,
                                 [&] {
                                   result = prometheus.query(
                                       R"(wscp_agent_step_duration_seconds_count{job="wscp-agent",step="dump"})");
                                   return result.is_array() && result.size() == 1 && result[0]["value"][1] == "1";
                                 },
                                 200ms),
                  result.dump());
    auto up = prometheus.query(R"(up{job="wscp-agent"})");
    REQUIRE(up.is_array());
    REQUIRE(up.size() == 1);
    CHECK(up[0]["value"][1] == "1");
  }

  {  // every log line is JSON, and those of an operation carry its id
    auto lines = operation_lines(agent1.log(), "checkpoint-" + name);
    std::set<std::string> messages;
    for (const auto& l : lines) messages.insert(l.value("msg", ""));
    CHECK(messages.count("operation accepted") == 1);
    CHECK(messages.count("operation running") == 1);
    CHECK(messages.count("operation succeeded") == 1);
    CHECK_FALSE(operation_lines(agent2.log(), "restore-" + name).empty());
  }
  n2.remove(name);
}
