// The evacuation end to end: `wscp-agent serve` on the sandbox nodes (real
// Podman + CRIU), a termination notice from the metadata emulator (AWS, GCE
// or Azure), and the operations API with client certificates made by
// make_pki.sh. Node-1's agent checkpoints its three workspaces (two
// containers and a compose project) on its own. With AWS, node-2's agent
// restores one of them through the API, which claims it; after the deadline
// and the grace period node-1 resumes the two nobody claimed, and finds the
// third moved; there node-1's agent has three workers and a memory budget
// for three transfers, and its three checkpoints run at once. With GCE and
// Azure nobody restores: all three resume in place.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "node_agent.h"
#include "sandbox_node.h"

using namespace std::chrono_literals;
using nlohmann::json;
namespace at = wscp::agent::testing;
namespace wt = wscp::testing;

namespace {

const std::vector<std::string> kCounter{"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"};

// A test's PKI and directory store.
struct Scene {
  wt::TempDir dir;
  std::string pki = (dir.path() / "pki").string();
  std::string store = (dir.path() / "store").string();
  Scene() {
    at::make_test_pki(pki);
    std::filesystem::create_directories(store);
  }
  at::NodeAgentConfig agent(const std::string& node, const std::string& socket, const std::string& notices) const {
    return {node, socket, dir.path() / node, pki, at::directory_store("main", store), notices, ""};
  }
};

// Three workspaces on a node: two containers and a two-service project.
struct ThreeWorkspaces {
  std::string first = wt::unique_name("evac-a");
  std::string second = wt::unique_name("evac-b");
  std::string project = wt::unique_name("evacproj");
  std::map<std::string, long long> count_at_checkpoint;  // by container, read while stopped

  explicit ThreeWorkspaces(wt::SandboxNode& node) {
    node.run(first, kCounter, {{"labels", {{"dev.containers.id", first}}}});
    node.run(second, kCounter, {{"labels", {{"dev.containers.id", second}}}});
    for (const std::string service : {"dev", "db"}) {
      json labels{{"com.docker.compose.project", project}, {"com.docker.compose.service", service}};
      if (service == std::string("dev")) labels["dev.containers.id"] = project;
      node.run(project + "-" + service, kCounter, {{"labels", labels}});
    }
    REQUIRE(wt::eventually(30s, [&] {
      for (const auto& c : containers())
        if (node.count(c) < 20) return false;
      return true;
    }));
  }
  std::vector<std::string> containers() const { return {first, second, project + "-dev", project + "-db"}; }
};

// Waits until no workspace of the agent's evacuation is in one of `busy`.
json evacuation_when_settled(at::NodeAgent& agent, const std::vector<std::string>& busy, std::chrono::seconds timeout) {
  json evacuation;
  REQUIRE_MESSAGE(at::eventually(timeout,
                                 [&] {
                                   auto [status, body] = agent.get("/v1/evacuation");
                                   if (status != 200) return false;
                                   evacuation = body;
                                   for (const auto& w : body.at("workspaces"))
                                     for (const auto& b : busy)
                                       if (w.at("state") == b) return false;
                                   return true;
                                 },
                                 250ms),
                  (evacuation.dump(2) + "\n" + agent.log()));
  return evacuation;
}

// Every workspace checkpointed under one id within its deadline, and stopped.
std::string check_all_checkpointed(const json& evacuation, wt::SandboxNode& node, ThreeWorkspaces& w,
                                   const std::string& provider) {
  INFO(evacuation.dump(2));
  REQUIRE(evacuation.at("workspaces").size() == 3);
  const std::string checkpoint_id = evacuation.at("checkpointId");
  for (const auto& e : evacuation.at("workspaces")) {
    CHECK(e.at("state") == "checkpointed");
    CHECK(e.at("deadlineMet") == true);
    CHECK(e.at("checkpointId") == checkpoint_id);
  }
  CHECK(at::evacuation_entry(evacuation, w.project).value("project", "") == w.project);
  CHECK(evacuation.at("notice").at("provider") == provider);
  for (const auto& c : w.containers()) {
    CHECK_FALSE(node.client().inspect_container(c)->running());
    w.count_at_checkpoint[c] = node.count(c);
  }
  return checkpoint_id;
}

// Nobody restored them: after the deadline and the grace all run in place,
// counting on.
void check_all_resumed(at::NodeAgent& agent, wt::SandboxNode& node, const ThreeWorkspaces& w,
                       std::chrono::seconds timeout) {
  json evacuation = evacuation_when_settled(agent, {"checkpointing", "checkpointed", "resuming"}, timeout);
  INFO(evacuation.dump(2));
  for (const auto& name : {w.first, w.second, w.project})
    CHECK(at::evacuation_entry(evacuation, name).at("state") == "resumed");
  for (const auto& c : w.containers()) {
    REQUIRE_MESSAGE(node.client().inspect_container(c)->running(), c);
    // The same process: it counts on from where it was frozen.
    const long long count = node.count(c);
    CHECK_MESSAGE(count >= w.count_at_checkpoint.at(c), c);
    CHECK_MESSAGE(wt::eventually(30s, [&] { return node.count(c) > count; }), c);
  }
}

// What the agent admits each checkpoint or restore for: transfer_buffer,
// or what its store's pipeline holds in flight when that is more (it logs
// raising it).
std::uint64_t admitted_transfer_bytes(const std::string& log, std::uint64_t transfer_buffer) {
  std::uint64_t bytes = transfer_buffer;
  for (const auto& r : at::log_records(log, "transfer buffer raised to what the store holds in flight")) {
    const std::uint64_t needed = at::parse_byte_size(r.value("needed", ""));
    CHECK_MESSAGE(needed > transfer_buffer, r.dump());
    bytes = std::max(bytes, needed);
  }
  return bytes;
}

// The evacuation's checkpoint operations ran at once: every one started
// before the first one ended. The operations' times are whole seconds (a
// necessary condition only); the log's "operation running" and "operation
// succeeded" lines, within the operation's running state, are milliseconds.
void check_ran_at_once(at::NodeAgent& agent, const json& evacuation) {
  std::vector<std::string> ids;
  for (const auto& e : evacuation.at("workspaces")) ids.push_back(e.at("operation").get<std::string>());
  REQUIRE(ids.size() == 3);
  std::string last_start, first_end;
  for (const auto& id : ids) {
    const json op = agent.operation(id);
    INFO(op.dump(2));
    REQUIRE(op.value("state", "") == "succeeded");
    const auto started = op.at("startedAt").get<std::string>();
    const auto finished = op.at("finishedAt").get<std::string>();
    if (last_start.empty() || started > last_start) last_start = started;
    if (first_end.empty() || finished < first_end) first_end = finished;
  }
  CHECK_MESSAGE(last_start <= first_end, "last started " << last_start << ", first finished " << first_end);

  const std::string log = agent.log();
  auto time_of = [&](const std::string& msg, const std::string& id) {
    std::vector<std::string> times;
    for (const auto& r : at::log_records(log, msg))
      if (r.value("operation", "") == id) times.push_back(r.at("time").get<std::string>());
    REQUIRE_MESSAGE(times.size() == 1, msg << " of " << id << ": " << times.size() << " lines");
    return times.front();
  };
  std::string last_running, first_succeeded;
  for (const auto& id : ids) {
    const std::string running = time_of("operation running", id), succeeded = time_of("operation succeeded", id);
    MESSAGE(id, ": running ", running, ", succeeded ", succeeded);
    if (last_running.empty() || running > last_running) last_running = running;
    if (first_succeeded.empty() || succeeded < first_succeeded) first_succeeded = succeeded;
  }
  CHECK_MESSAGE(last_running < first_succeeded,
                "the last began at " << last_running << ", after the first ended at " << first_succeeded);
}

}  // namespace

TEST_CASE("evacuation: a spot notice checkpoints every workspace; one restored elsewhere, the others resume in place") {
  at::Emulator emulator;
  wt::SandboxNode n1("node-1"), n2("node-2");
  n1.ensure_testbox();
  n2.ensure_testbox();
  Scene scene;
  ThreeWorkspaces w(n1);
  const std::string& moved = w.first;

  // Three workers, and a memory budget that admits three checkpoints at
  // once (the default 256 MiB holds two of what a store's pipeline needs).
  constexpr std::uint64_t kMiB = 1ull << 20;
  constexpr std::uint64_t kBudget = 320 * kMiB;
  at::NodeAgentConfig config1 = scene.agent("node-1", n1.socket(),
                                            "  default_window: 30s\n  resume_grace: 45s\n"
                                            "  aws: {enabled: true, base_url: \"" + emulator.url() +
                                                "\", poll_interval: 200ms}\n");
  config1.operations = "{workers: 3, transfer_buffer: 64MiB, shutdown_grace: 5s}";
  config1.memory_budget = std::to_string(kBudget / kMiB) + "MiB";
  at::NodeAgent agent1(config1);
  at::NodeAgent agent2(scene.agent("node-2", n2.socket(), ""));
  const std::uint64_t per_checkpoint = admitted_transfer_bytes(agent1.log(), 64 * kMiB);
  MESSAGE("each checkpoint is admitted for ", per_checkpoint / kMiB, " MiB of ", kBudget / kMiB, " MiB");
  REQUIRE(3 * per_checkpoint <= kBudget);
  const long long rss_before = at::proc_status_bytes(agent1.process().pid(), "VmRSS");
  REQUIRE(rss_before > 0);
  CHECK(agent1.get("/v1/evacuation").first == 404);  // nothing before a notice

  // The notice: the node goes in 60 s.
  emulator.post("/_emulator/aws/instance-action", json{{"action", "terminate"}, {"time", at::rfc3339_in(60s)}});
  json evacuation = evacuation_when_settled(agent1, {"checkpointing"}, 120s);
  const std::string checkpoint_id = check_all_checkpointed(evacuation, n1, w, "aws");
  const long long moved_count = n1.count(moved);
  check_ran_at_once(agent1, evacuation);
  // The budget's own peak is not published (no metric, no API); the
  // process's peak resident memory over its start stays within it.
  const long long rss_peak = at::proc_status_bytes(agent1.process().pid(), "VmHWM");
  MESSAGE("agent RSS at start ", rss_before / kMiB, " MiB, peak ", rss_peak / kMiB, " MiB, budget ", kBudget / kMiB,
          " MiB");
  CHECK(rss_peak - rss_before <= static_cast<long long>(kBudget));

  // Node-2's agent restores one of them: its claim makes it node-2's.
  json restored = agent2.run_operation(
      {{"id", "restore-" + moved}, {"kind", "restore"}, {"workspace", moved}, {"checkpointId", checkpoint_id}});
  REQUIRE_MESSAGE(restored.at("state") == "succeeded", (restored.dump(2) + "\n" + agent2.log()));
  CHECK(n2.client().inspect_container(moved)->running());
  CHECK(n2.count(moved) >= moved_count);
  CHECK(wt::eventually(30s, [&] { return n2.count(moved) > moved_count; }));

  // Deadline (60 s) + grace (45 s): node-1 resumes the two nobody claimed.
  evacuation = evacuation_when_settled(agent1, {"checkpointed", "resuming"}, 150s);
  INFO(evacuation.dump(2));
  CHECK(at::evacuation_entry(evacuation, moved).at("state") == "moved");
  CHECK(at::evacuation_entry(evacuation, w.second).at("state") == "resumed");
  CHECK(at::evacuation_entry(evacuation, w.project).at("state") == "resumed");
  for (const auto& c : {w.second, w.project + "-dev", w.project + "-db"}) {
    CHECK_MESSAGE(n1.client().inspect_container(c)->running(), c);
  }
  const long long stays_count = n1.count(w.second);
  CHECK(stays_count >= w.count_at_checkpoint.at(w.second));  // counting on, not from 0
  CHECK(wt::eventually(30s, [&] { return n1.count(w.second) > stays_count; }));

  // The source lets go of the moved one: it runs exactly once, on node-2.
  json released = agent1.run_operation(
      {{"id", "release-" + moved}, {"kind", "release"}, {"workspace", moved}, {"checkpointId", checkpoint_id}});
  CHECK_MESSAGE(released.at("state") == "succeeded", released.dump(2));
  CHECK_FALSE(*n1.client().container_exists(moved));
  CHECK(n2.client().inspect_container(moved)->running());

  for (const auto& c : {w.second, w.project + "-dev", w.project + "-db"}) n1.remove(c);
  n2.remove(moved);
}

TEST_CASE("evacuation: a GCE preemption checkpoints every workspace; unclaimed, they resume in place") {
  at::Emulator emulator;
  wt::SandboxNode n1("node-1");
  n1.ensure_testbox();
  Scene scene;
  ThreeWorkspaces w(n1);
  // GCE gives 30 s from the moment `preempted` turns TRUE.
  at::NodeAgent agent(scene.agent("node-1", n1.socket(),
                                  "  resume_grace: 5s\n"
                                  "  gce: {enabled: true, base_url: \"" + emulator.url() + "\", wait_timeout: 30s}\n"));
  emulator.post("/_emulator/gce/preempted", json{{"value", "TRUE"}});
  json evacuation = evacuation_when_settled(agent, {"checkpointing"}, 60s);
  check_all_checkpointed(evacuation, n1, w, "gce");
  check_all_resumed(agent, n1, w, 90s);
  for (const auto& c : w.containers()) n1.remove(c);
}

TEST_CASE("evacuation: an Azure Preempt event checkpoints every workspace, is acknowledged, and they resume in place") {
  at::Emulator emulator;
  wt::SandboxNode n1("node-1");
  n1.ensure_testbox();
  Scene scene;
  ThreeWorkspaces w(n1);
  at::NodeAgent agent(scene.agent("node-1", n1.socket(),
                                  "  resume_grace: 5s\n"
                                  "  azure: {enabled: true, base_url: \"" + emulator.url() +
                                      "\", poll_interval: 200ms, acknowledge: true}\n"));
  const auto posted = emulator.post("/_emulator/azure/event",
                                    json{{"EventType", "Preempt"}, {"NotBefore", at::rfc1123_in(30s)}});
  const std::string event_id = posted.at("EventId");
  json evacuation = evacuation_when_settled(agent, {"checkpointing"}, 60s);
  check_all_checkpointed(evacuation, n1, w, "azure");
  // Durable: the agent lets Azure go ahead before NotBefore.
  CHECK(at::eventually(10s, [&] {
    return emulator.get("/_emulator/azure/acks").dump().find(event_id) != std::string::npos;
  }));
  check_all_resumed(agent, n1, w, 90s);
  for (const auto& c : w.containers()) n1.remove(c);
}
