// The node's one memory budget under load: ten workspaces (real Podman +
// CRIU on sandbox node-1) checkpointed through `wscp-agent serve`'s API at
// once, with more workers than the budget admits transfers. The budget, not
// the number of operations, decides how many move at once, and the agent's
// peak memory stays within it.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "node_agent.h"
#include "sandbox_node.h"

using namespace std::chrono_literals;
using nlohmann::json;
namespace at = wscp::agent::testing;
namespace wt = wscp::testing;

TEST_CASE("daemon budget: ten checkpoints asked at once move as many at a time as the memory budget admits, and the "
          "agent's memory stays within it") {
  constexpr int kWorkspaces = 10;
  constexpr long long kMiB = 1 << 20;
  constexpr long long kBudget = 384 * kMiB;  // three transfers of 128 MiB
  wt::SandboxNode n1("node-1");
  n1.ensure_testbox();
  wt::TempDir dir;
  const at::PkiAndStore scene(dir.path());
  std::vector<std::string> names;
  for (int i = 0; i < kWorkspaces; ++i) {
    names.push_back(wt::unique_name("budget-" + std::to_string(i)));
    n1.run(names.back(), {"/usr/local/bin/wscp-memload", "48", "/var/wscp/memload", "500"},
           {{"labels", {{"dev.containers.id", names.back()}}}});
  }
  for (const auto& name : names)
    REQUIRE(wt::eventually(90s, [&] { return n1.read_file(name, "/var/wscp/memload").find("ok=1") != std::string::npos; }));

  at::NodeAgentConfig config = scene.agent("node-1", n1.socket(), 1);
  // What one transfer of this store holds in flight at most (its segments,
  // the compressor's window) is under 128 MiB: the agent would raise the
  // transfer buffer to it otherwise, and say so.
  config.operations = "{workers: 10, transfer_buffer: 128MiB, shutdown_grace: 5s}";
  config.memory_budget = "384MiB";
  at::NodeAgent agent(config);
  REQUIRE_MESSAGE(agent.log().find("transfer buffer raised") == std::string::npos, agent.log());
  const long long baseline = at::proc_status_bytes(agent.process().pid(), "VmRSS");
  REQUIRE(baseline > 0);

  for (const auto& name : names) {
    auto [status, started] = agent.call("POST", "/v1/operations",
                                        json{{"id", "checkpoint-" + name}, {"kind", "checkpoint"},
                                             {"workspace", name}, {"checkpointId", "cp-" + name}});
    REQUIRE_MESSAGE(status == 202, started.dump());
  }
  // Poll every operation: how many run at once, while any is unfinished.
  int most_running = 0, most_waiting = 0;
  bool all_done = false;
  const auto deadline = std::chrono::steady_clock::now() + 300s;
  while (!all_done && std::chrono::steady_clock::now() < deadline) {
    auto [status, listed] = agent.get("/v1/operations");
    REQUIRE(status == 200);
    int running = 0, waiting = 0, done = 0;
    for (const auto& op : listed.at("operations")) {
      const std::string state = op.at("state");
      if (state == "running") ++running;
      if (state == "pending") ++waiting;
      if (state == "succeeded" || state == "failed" || state == "cancelled") ++done;
    }
    most_running = std::max(most_running, running);
    most_waiting = std::max(most_waiting, waiting);
    all_done = done == kWorkspaces;
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE_MESSAGE(all_done, agent.log());
  for (const auto& name : names) {
    const json op = agent.operation("checkpoint-" + name);
    CHECK_MESSAGE(op.at("state") == "succeeded", op.dump());
    CHECK(op.at("result").at("archiveBytes").get<long long>() > 40 * kMiB);  // the 48 MiB really went
  }
  // Three admitted at a time, the others waiting for memory, not for workers.
  CHECK(most_running <= 3);
  CHECK(most_running >= 2);  // ten asked at once; a poll every 50 ms sees several move
  CHECK(most_waiting >= kWorkspaces - 3 - 1);
  const long long peak = at::proc_status_bytes(agent.process().pid(), "VmHWM");
  MESSAGE("agent RSS before ", baseline / kMiB, " MiB, peak ", peak / kMiB, " MiB, budget ", kBudget / kMiB, " MiB");
  CHECK(peak - baseline <= kBudget);

  for (const auto& name : names) n1.remove(name);
}
