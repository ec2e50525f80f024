// The daemon's operations end to end, as the controller drives them: one
// `wscp-agent serve` per sandbox node (real Podman + CRIU), the mTLS API
// with client certificates made by make_pki.sh, and a directory store both
// agents share. A checkpoint on node-1, a restore on node-2, a release on
// node-1; then the same with an agent killed (-9) in the middle of its
// operation and started again: the operation is finished or undone, never
// run a second time, and the workspace runs exactly once. An agent stopped
// (SIGTERM) in the middle of a checkpoint takes no new operation and lets
// the checkpoint become durable before it exits 0. The basic flow once more
// on S3 (a real MinIO: fixture "minio" of test/store_integration).
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "minio_env.h"
#include "node_agent.h"
#include "sandbox_node.h"
#include "store/layout.h"

using namespace std::chrono_literals;
using nlohmann::json;
namespace at = wscp::agent::testing;
namespace wt = wscp::testing;

namespace {

// The test's PKI, and two stores in one directory tree: "fast" (no
// compression) and "slow" (zstd level 19: slow where memory compresses; the
// random memory of wscp-memload is stored raw, so the tests that interrupt
// a checkpoint give it enough memory to take seconds).
struct Scene {
  wt::TempDir dir;
  std::string pki = (dir.path() / "pki").string();
  std::string store = (dir.path() / "store").string();
  Scene() {
    at::make_test_pki(pki);
    std::filesystem::create_directories(store + "/fast");
    std::filesystem::create_directories(store + "/slow");
  }
  at::NodeAgentConfig agent(const std::string& node, const std::string& socket) const {
    return {node,
            socket,
            dir.path() / node,
            pki,
            at::directory_store("fast", store + "/fast", 0) + at::directory_store("slow", store + "/slow", 19),
            "",
            ""};
  }
};

// The same on S3: a fresh bucket of the "minio" fixture's MinIO, one store
// "s3" both agents share, its archives compressed (zstd 3) and encrypted
// with a keyring file (mode 0600), the credentials in a directory as a
// mounted Secret has them.
struct S3Scene {
  wt::TempDir dir;
  std::string pki = (dir.path() / "pki").string();
  wscp::store::testing::Minio minio;
  std::string bucket = minio.make_bucket("daemon-ops");
  std::string keyring = (dir.path() / "keyring").string();
  std::string credentials = (dir.path() / "s3-credentials").string();
  S3Scene() {
    at::make_test_pki(pki);
    std::mt19937_64 rng{std::random_device{}()};
    std::string hex;
    for (int i = 0; i < 4; ++i) {
      char part[17];
      std::snprintf(part, sizeof part, "%016llx", static_cast<unsigned long long>(rng()));
      hex += part;
    }
    write_private(keyring, hex + "\n");
    std::filesystem::create_directories(credentials);
    const auto creds = minio.credentials();
    write_private(credentials + "/AWS_ACCESS_KEY_ID", creds.access_key_id + "\n");
    write_private(credentials + "/AWS_SECRET_ACCESS_KEY", creds.secret_access_key + "\n");
  }
  static void write_private(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
  }
  // The prefix is the one Minio::config() gives, so objects() lists them.
  std::string url() const {
    // No writer named: each agent writes as its node (not as this host).
    return "s3://" + bucket + "/" + minio.config(bucket).prefix + "?endpoint=" + minio.config(bucket).endpoint;
  }
  at::NodeAgentConfig agent(const std::string& node, const std::string& socket) const {
    return {node, socket, dir.path() / node, pki, at::s3_store("s3", url(), keyring, credentials, 3), "", ""};
  }
  // The bucket as the test sees it (no key: listing only).
  std::unique_ptr<wscp::store::ObjectStore> objects() const {
    return wscp::store::s3::make_s3_store(minio.client(minio.config(bucket)));
  }
};

json request(const std::string& id, const std::string& kind, const std::string& workspace,
             const std::string& checkpoint, const std::string& store = "fast") {
  return {{"id", id}, {"kind", kind}, {"workspace", workspace}, {"checkpointId", checkpoint}, {"store", store}};
}

// Polls operation `id` until `pred` holds for it; returns it.
json operation_when(at::NodeAgent& agent, const std::string& id, const std::function<bool(const json&)>& pred,
                    std::chrono::seconds timeout) {
  json op;
  REQUIRE_MESSAGE(at::eventually(timeout,
                                 [&] {
                                   op = agent.operation(id);
                                   return pred(op);
                                 },
                                 20ms),
                  (op.dump(2) + "\n" + agent.log()));
  return op;
}

// Running `step`, with bytes moving in progress stage `stage` ("" any).
bool moving_bytes_in(const json& op, const std::string& step, const std::string& stage = "") {
  if (!op.is_object() || op.value("state", "") != "running") return false;
  const json& steps = op.at("steps");
  const json& progress = op.at("progress");
  return !steps.empty() && steps.back().at("name") == step && (stage.empty() || progress.at("stage") == stage) &&
         progress.at("bytes").get<std::uint64_t>() > 0;
}

// A wscp-memload workspace: its status line once it proved its memory.
std::string memload_status(wt::SandboxNode& node, const std::string& name) {
  std::string status;
  REQUIRE(wt::eventually(90s, [&] {
    status = node.read_file(name, "/var/wscp/memload");
    return status.find("ok=1") != std::string::npos;
  }));
  return status;
}

std::string field(const std::string& status, const std::string& key) {
  auto at = status.find(key + "=");
  if (at == std::string::npos) return "";
  auto end = status.find_first_of(" \n", at);
  return status.substr(at + key.size() + 1, end == std::string::npos ? std::string::npos : end - at - key.size() - 1);
}

// The same process (its memory's seed-derived checksum), intact and running.
void check_same_process(wt::SandboxNode& node, const std::string& name, const std::string& before) {
  std::string after;
  CHECK_MESSAGE(wt::eventually(60s,
                               [&] {
                                 after = node.read_file(name, "/var/wscp/memload");
                                 return !after.empty() && std::stoll(field(after, "round")) > std::stoll(field(before, "round"));
                               }),
                after);
  CHECK(field(after, "expected") == field(before, "expected"));
  CHECK(after.find("ok=1") != std::string::npos);
}

}  // namespace

TEST_CASE("daemon operations: checkpoint on node-1, restore on node-2, release on node-1; the count continues") {
  wt::SandboxNode n1("node-1"), n2("node-2");
  n1.ensure_testbox();
  n2.ensure_testbox();
  Scene scene;
  const std::string name = wt::unique_name("api-counter");
  n1.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"}, {{"labels", {{"dev.containers.id", name}}}});
  REQUIRE(wt::eventually(30s, [&] { return n1.count(name) >= 20; }));
  at::NodeAgent agent1(scene.agent("node-1", n1.socket()));
  at::NodeAgent agent2(scene.agent("node-2", n2.socket()));
  const std::string cp = "cp-" + name;

  json checkpointed = agent1.run_operation(request("checkpoint-" + name, "checkpoint", name, cp));
  REQUIRE_MESSAGE(checkpointed.at("state") == "succeeded", (checkpointed.dump(2) + "\n" + agent1.log()));
  const json& result = checkpointed.at("result");
  CHECK(result.at("workspaceId") == name);
  CHECK(result.at("archiveBytes").get<std::uint64_t>() > 0);
  REQUIRE(result.at("criu").size() == 1);
  CHECK(result.at("criu")[0].at("frozenTimeUs").get<std::int64_t>() > 0);
  CHECK_FALSE(n1.client().inspect_container(name)->running());
  const long long at_checkpoint = n1.count(name);

  // The same id again is the same operation: 200, not a second dump.
  auto [again_status, again] = agent1.call("POST", "/v1/operations", request("checkpoint-" + name, "checkpoint", name, cp));
  CHECK(again_status == 200);
  CHECK(again.at("startedAt") == checkpointed.at("startedAt"));
  CHECK(again.at("state") == "succeeded");

  json restored = agent2.run_operation(request("restore-" + name, "restore", name, cp));
  REQUIRE_MESSAGE(restored.at("state") == "succeeded", (restored.dump(2) + "\n" + agent2.log()));
  // Continued: the first count read on node-2 is already past the
  // checkpoint's (a counter started afresh would begin at 0), and it goes on.
  const long long first_on_node2 = n2.count(name);
  CHECK(first_on_node2 >= at_checkpoint);
  CHECK(wt::eventually(30s, [&] { return n2.count(name) > first_on_node2; }));

  json released = agent1.run_operation(request("release-" + name, "release", name, cp));
  REQUIRE_MESSAGE(released.at("state") == "succeeded", (released.dump(2) + "\n" + agent1.log()));
  CHECK_FALSE(*n1.client().container_exists(name));
  CHECK(n2.client().inspect_container(name)->running());

  // Node-2's inventory lists it now.
  auto [listed_status, listed] = agent2.get("/v1/workspaces");
  CHECK(listed_status == 200);
  CHECK(listed.dump().find(name) != std::string::npos);
  n2.remove(name);
}

TEST_CASE("daemon operations: a cut-through restore on node-2 follows the checkpoint node-1 is still writing") {
  wt::SandboxNode n1("node-1"), n2("node-2");
  n1.ensure_testbox();
  n2.ensure_testbox();
  Scene scene;
  const std::string name = wt::unique_name("api-cut");
  n1.run(name, {"/usr/local/bin/wscp-memload", "96", "/var/wscp/memload", "200"},
         {{"labels", {{"dev.containers.id", name}}}});
  const std::string before = memload_status(n1, name);
  at::NodeAgent agent1(scene.agent("node-1", n1.socket()));
  at::NodeAgent agent2(scene.agent("node-2", n2.socket()));
  const std::string cp = "cp-" + name;

  // The restore is asked for first: it waits for the plan, then follows.
  json follow = request("restore-" + name, "restore", name, cp);
  follow["cutThrough"] = true;
  auto [status, started] = agent2.call("POST", "/v1/operations", follow);
  REQUIRE_MESSAGE(status == 202, (started.dump() + "\n" + agent2.log()));
  json checkpointed = agent1.run_operation(request("checkpoint-" + name, "checkpoint", name, cp));
  REQUIRE_MESSAGE(checkpointed.at("state") == "succeeded", (checkpointed.dump(2) + "\n" + agent1.log()));
  json restored = agent2.wait_operation("restore-" + name);
  REQUIRE_MESSAGE(restored.at("state") == "succeeded", (restored.dump(2) + "\n" + agent2.log()));
  CHECK(restored.at("result").at("cutThrough") == true);
  CHECK(restored.at("request").at("cutThrough") == true);
  // It began before the seal: its start precedes the checkpoint's end.
  CHECK(restored.at("startedAt").get<std::string>() < checkpointed.at("finishedAt").get<std::string>());

  json released = agent1.run_operation(request("release-" + name, "release", name, cp));
  REQUIRE_MESSAGE(released.at("state") == "succeeded", (released.dump(2) + "\n" + agent1.log()));
  check_same_process(n2, name, before);
  CHECK_FALSE(*n1.client().container_exists(name));
  n2.remove(name);
}

TEST_CASE("daemon operations: an agent killed mid-checkpoint is restarted; the workspace runs on the source, the "
          "operation is not run again") {
  wt::SandboxNode n1("node-1");
  n1.ensure_testbox();
  Scene scene;
  const std::string name = wt::unique_name("api-killcp");
  n1.run(name, {"/usr/local/bin/wscp-memload", "256", "/var/wscp/memload", "200"},
         {{"labels", {{"dev.containers.id", name}}}});
  const std::string before = memload_status(n1, name);
  at::NodeAgent agent(scene.agent("node-1", n1.socket()));
  const std::string id = "checkpoint-" + name;
  const json req = request(id, "checkpoint", name, "cp-" + name, "slow");

  auto [status, started] = agent.call("POST", "/v1/operations", req);
  REQUIRE_MESSAGE(status == 202, started.dump());
  // The archive's upload: the workspace is frozen and being dumped (the
  // image goes before the freeze, as "image upload").
  operation_when(agent, id, [](const json& op) { return moving_bytes_in(op, "checkpoint", "upload"); }, 120s);
  agent.kill();

  agent.start();
  json op = agent.operation(id);
  INFO(op.dump(2));
  CHECK(op.at("state") == "failed");
  CHECK(op.at("recovery").at("action") == "resumed-on-source");
  CHECK(op.at("recovery").at("pending") == false);
  REQUIRE(n1.client().inspect_container(name)->running());
  check_same_process(n1, name, before);

  // Posting it again answers the record: nothing is dumped a second time.
  auto [again_status, again] = agent.call("POST", "/v1/operations", req);
  CHECK(again_status == 200);
  CHECK(again.at("state") == "failed");
  CHECK(again.at("startedAt") == op.at("startedAt"));
  CHECK(n1.client().inspect_container(name)->running());
  n1.remove(name);
}

TEST_CASE("daemon operations: an agent killed mid-restore is restarted; the restore is kept or undone and the "
          "workspace runs exactly once") {
  wt::SandboxNode n1("node-1"), n2("node-2");
  n1.ensure_testbox();
  n2.ensure_testbox();
  Scene scene;
  const std::string name = wt::unique_name("api-killrs");
  n1.run(name, {"/usr/local/bin/wscp-memload", "256", "/var/wscp/memload", "200"},
         {{"labels", {{"dev.containers.id", name}}}});
  const std::string before = memload_status(n1, name);
  at::NodeAgent agent1(scene.agent("node-1", n1.socket()));
  at::NodeAgent agent2(scene.agent("node-2", n2.socket()));
  const std::string cp = "cp-" + name;
  json checkpointed = agent1.run_operation(request("checkpoint-" + name, "checkpoint", name, cp));
  REQUIRE_MESSAGE(checkpointed.at("state") == "succeeded", (checkpointed.dump(2) + "\n" + agent1.log()));

  const std::string restore_id = "restore-" + name;
  const json restore = request(restore_id, "restore", name, cp);
  auto [status, started] = agent2.call("POST", "/v1/operations", restore);
  REQUIRE_MESSAGE(status == 202, started.dump());
  operation_when(agent2, restore_id, [](const json& op) { return moving_bytes_in(op, "restore"); }, 120s);
  agent2.kill();

  agent2.start();
  json op = agent2.operation(restore_id);
  INFO(op.dump(2));
  CHECK(op.at("state") == "failed");
  const std::string action = op.at("recovery").value("action", "");
  MESSAGE("recovery of the interrupted restore: ", action);
  auto [again_status, again] = agent2.call("POST", "/v1/operations", restore);
  CHECK(again_status == 200);
  CHECK(again.at("startedAt") == op.at("startedAt"));

  if (action == "restore-kept") {
    // It had settled on node-2: the source lets go.
    json released = agent1.run_operation(request("release-" + name, "release", name, cp));
    REQUIRE_MESSAGE(released.at("state") == "succeeded", released.dump(2));
    CHECK_FALSE(*n1.client().container_exists(name));
    REQUIRE(n2.client().inspect_container(name)->running());
    check_same_process(n2, name, before);
    n2.remove(name);
  } else {
    // Undone: nothing of it is left on node-2; the source resumes it.
    // (Podman may still be reading what reached it before the agent died:
    // the import of a body that never ended fails, and Podman removes the
    // container it began.)
    REQUIRE(action == "restore-undone");
    const bool gone = wt::eventually(30s, [&] { return !*n2.client().container_exists(name); });
    const auto left = n2.client().inspect_container(name);
    CHECK_MESSAGE(gone, "left on node-2: " << (left.ok() ? left->state + " " + left->id : left.error().describe()));
    json resumed = agent1.run_operation(request("resume-" + name, "resume", name, cp));
    REQUIRE_MESSAGE(resumed.at("state") == "succeeded", (resumed.dump(2) + "\n" + agent1.log()));
    REQUIRE(n1.client().inspect_container(name)->running());
    check_same_process(n1, name, before);
    CHECK_FALSE(*n2.client().container_exists(name));
    n1.remove(name);
  }
}

TEST_CASE("daemon operations: SIGTERM during a checkpoint's upload refuses new operations (503), lets the checkpoint "
          "become durable and exits 0; restarted, the agent reads it succeeded and node-2 restores it") {
  wt::SandboxNode n1("node-1"), n2("node-2");
  n1.ensure_testbox();
  n2.ensure_testbox();
  Scene scene;
  const std::string name = wt::unique_name("api-term");
  n1.run(name, {"/usr/local/bin/wscp-memload", "1024", "/var/wscp/memload", "200"},
         {{"labels", {{"dev.containers.id", name}}}});
  const std::string before = memload_status(n1, name);
  // (Random memory: the store's probe finds it incompressible and zstd-19
  // does not slow it down; 1 GiB takes several seconds to dump and upload.)
  // Long enough for the checkpoint to finish: it must not be cancelled.
  constexpr auto kGrace = 120s;
  at::NodeAgentConfig config1 = scene.agent("node-1", n1.socket());
  config1.operations = "{workers: 2, transfer_buffer: 64MiB, shutdown_grace: " + std::to_string(kGrace.count()) + "s}";
  at::NodeAgent agent1(config1);
  at::NodeAgent agent2(scene.agent("node-2", n2.socket()));
  const std::string cp = "cp-" + name;
  const std::string id = "checkpoint-" + name;

  auto [status, started] = agent1.call("POST", "/v1/operations", request(id, "checkpoint", name, cp, "slow"));
  REQUIRE_MESSAGE(status == 202, (started.dump() + "\n" + agent1.log()));
  operation_when(agent1, id, [](const json& op) { return moving_bytes_in(op, "checkpoint", "upload"); }, 120s);
  const auto signalled = std::chrono::steady_clock::now();
  agent1.process().signal(SIGTERM);

  // A resume of the same workspace is refused as a conflict (409) while the
  // agent still takes operations; once it stops taking them, 503. (Probing
  // with it never starts anything, whenever the switch happens.)
  std::pair<int, json> probe;
  REQUIRE_MESSAGE(at::eventually(10s,
                                 [&] {
                                   probe = agent1.call("POST", "/v1/operations",
                                                       request("resume-" + name, "resume", name, cp, "slow"));
                                   return probe.first != 409;
                                 },
                                 50ms),
                  (probe.second.dump() + "\n" + agent1.log()));
  CHECK_MESSAGE(probe.first == 503, probe.second.dump());
  CHECK(probe.second.dump().find("unavailable") != std::string::npos);
  // An operation on nothing else running is refused too (before SIGTERM it
  // would be accepted): nothing new starts during the grace period.
  auto [other_status, other] = agent1.call(
      "POST", "/v1/operations", request("checkpoint-other-" + name, "checkpoint", "other-" + name, "cp-other", "fast"));
  CHECK_MESSAGE(other_status == 503, other.dump());
  // Meanwhile the API still answers, and the checkpoint still runs.
  const json during = agent1.operation(id);
  CHECK_MESSAGE(during.value("state", "") == "running", during.dump(2));

  const bool exited = at::eventually(kGrace + 30s, [&] { return agent1.process().exited(); }, 100ms);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - signalled);
  const std::string stopped_log = agent1.log();
  REQUIRE_MESSAGE(exited, stopped_log);
  MESSAGE("SIGTERM to exit: ", took.count(), " ms");
  const int wait_status = agent1.process().status();
  CHECK_MESSAGE(WIFEXITED(wait_status), "wait status " << wait_status);
  CHECK_MESSAGE(WEXITSTATUS(wait_status) == 0, "wait status " << wait_status);
  CHECK(took < kGrace + 30s);
  CHECK(at::log_records(stopped_log, "grace period over: cancelling what still runs").empty());
  CHECK(at::log_records(stopped_log, "stopped").size() == 1);
  // The checkpoint was running when the agent began stopping, and ended
  // after that as a success.
  const auto stopping = at::log_records(stopped_log, "stopping");
  std::vector<json> succeeded;
  for (const auto& r : at::log_records(stopped_log, "operation succeeded"))
    if (r.value("operation", "") == id) succeeded.push_back(r);
  REQUIRE_MESSAGE(stopping.size() == 1, stopped_log);
  REQUIRE_MESSAGE(succeeded.size() == 1, stopped_log);
  CHECK(stopping[0].at("time").get<std::string>() < succeeded[0].at("time").get<std::string>());

  // Restarted: the record says succeeded (no recovery: it had ended), and
  // the workspace stays checkpointed (recovery waits for a decision).
  agent1.start();
  const json op = agent1.operation(id);
  INFO(op.dump(2));
  REQUIRE(op.at("state") == "succeeded");
  CHECK_FALSE(op.contains("recovery"));
  CHECK(op.at("result").at("archiveBytes").get<std::uint64_t>() > 0);
  MESSAGE("checkpoint ", op.at("result").at("durationMs"), " ms, steps ", op.at("result").value("stepDurationsMs", json()),
          "; stopping at ", stopping[0].at("time"), ", succeeded at ", succeeded[0].at("time"));
  CHECK_FALSE(n1.client().inspect_container(name)->running());

  json restored = agent2.run_operation(request("restore-" + name, "restore", name, cp, "slow"));
  REQUIRE_MESSAGE(restored.at("state") == "succeeded", (restored.dump(2) + "\n" + agent2.log()));
  json released = agent1.run_operation(request("release-" + name, "release", name, cp, "slow"));
  REQUIRE_MESSAGE(released.at("state") == "succeeded", (released.dump(2) + "\n" + agent1.log()));
  // The same process counts on, on node-2 only.
  check_same_process(n2, name, before);
  CHECK_FALSE(*n1.client().container_exists(name));
  CHECK(n2.client().inspect_container(name)->running());
  n2.remove(name);
}

// Registered apart from "daemon operations: *" (it needs the "minio" fixture).
TEST_CASE("daemon operations on S3: checkpoint on node-1, restore on node-2, release on node-1; the count continues "
          "and the archive is in the bucket") {
  wt::SandboxNode n1("node-1"), n2("node-2");
  n1.ensure_testbox();
  n2.ensure_testbox();
  S3Scene scene;
  const std::string name = wt::unique_name("api-s3");
  n1.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"}, {{"labels", {{"dev.containers.id", name}}}});
  REQUIRE(wt::eventually(30s, [&] { return n1.count(name) >= 20; }));
  at::NodeAgent agent1(scene.agent("node-1", n1.socket()));
  at::NodeAgent agent2(scene.agent("node-2", n2.socket()));
  const std::string cp = "cp-" + name;

  json checkpointed = agent1.run_operation(request("checkpoint-" + name, "checkpoint", name, cp, "s3"));
  REQUIRE_MESSAGE(checkpointed.at("state") == "succeeded", (checkpointed.dump(2) + "\n" + agent1.log()));
  CHECK(checkpointed.at("result").at("workspaceId") == name);
  CHECK(checkpointed.at("result").at("archiveBytes").get<std::uint64_t>() > 0);
  CHECK_FALSE(n1.client().inspect_container(name)->running());
  const long long at_checkpoint = n1.count(name);

  // In the bucket: the manifest and the container's archive, compressed
  // and encrypted (".tar.zst.enc", whole or in segments under it).
  auto listed = scene.objects()->list(wscp::store::layout::checkpoint_prefix(name, cp));
  REQUIRE_MESSAGE(listed.ok(), (listed.ok() ? "" : listed.error().describe()));
  const std::string manifest = wscp::store::layout::manifest_key(name, cp);
  const std::string archive =
      wscp::store::layout::archive_key(name, cp, name, wscp::store::Compression::kZstd, /*encrypted=*/true);
  bool has_manifest = false;
  std::uint64_t archive_bytes = 0;
  std::string keys;
  for (const auto& o : *listed) {
    keys += o.key + " (" + std::to_string(o.size) + ")\n";
    if (o.key == manifest) has_manifest = o.size > 0;
    if (o.key.starts_with(archive)) archive_bytes += o.size;
  }
  INFO("objects of ", cp, ":\n", keys);
  CHECK(has_manifest);
  CHECK(archive_bytes > 0);

  json restored = agent2.run_operation(request("restore-" + name, "restore", name, cp, "s3"));
  REQUIRE_MESSAGE(restored.at("state") == "succeeded", (restored.dump(2) + "\n" + agent2.log()));
  const long long first_on_node2 = n2.count(name);
  CHECK(first_on_node2 >= at_checkpoint);
  CHECK(wt::eventually(30s, [&] { return n2.count(name) > first_on_node2; }));

  json released = agent1.run_operation(request("release-" + name, "release", name, cp, "s3"));
  REQUIRE_MESSAGE(released.at("state") == "succeeded", (released.dump(2) + "\n" + agent1.log()));
  CHECK_FALSE(*n1.client().container_exists(name));
  CHECK(n2.client().inspect_container(name)->running());
  n2.remove(name);
}
