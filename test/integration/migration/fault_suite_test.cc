// The fault suite: every row runs the phase verbs as separate processes per
// node (as two machines would), makes one of them die at a named step (or
// tampers with the store), lets the node's next start (`resume --pending`)
// and the driver finish, and then asserts that the workspace runs exactly
// once, its count continuing, with nothing half-made left and the journals
// empty. docs/reliability.md lists the rows.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <csignal>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent_process.h"
#include "migration/claim.h"
#include "migration/object_documents.h"
#include "migration/workspace_lock.h"
#include "sandbox_node.h"
#include "store/store_url.h"
#include "minio_env.h"

namespace wscp::testing {
namespace {

using namespace std::chrono_literals;

struct Totals {
  int faults = 0;
  int lost = 0;
  int duplicates = 0;
  ~Totals() {
    std::printf("fault suite totals: %d faults tried, %d workspaces lost, %d duplicates\n", faults, lost, duplicates);
  }
};
Totals totals;

std::string write_key(const std::filesystem::path& dir, const std::string& name, std::vector<char> fills) {
  auto path = dir / name;
  std::ofstream out(path);
  for (char c : fills) out << std::string(64, c) << "\n";
  out.close();
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::replace);
  return path.string();
}

enum class StoreKind { kDirectory, kS3 };

// The MinIO of the "minio" fixture; its credentials go to every agent
// through the environment, as a node's would.
store::testing::Minio& minio() {
  static store::testing::Minio server;
  static bool exported = [] {
    auto creds = server.credentials();
    ::setenv("AWS_ACCESS_KEY_ID", creds.access_key_id.c_str(), 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", creds.secret_access_key.c_str(), 1);
    return true;
  }();
  (void)exported;
  return server;
}

// Two nodes, one store (a directory or an S3 bucket), a journal per node,
// one counting workspace.
class Flow {
 public:
  // ballast_mib: pseudo-random memory beside the counter, so that the
  // archive spans many segments and a transfer outlasts its first bytes.
  explicit Flow(const std::string& tag, StoreKind kind = StoreKind::kDirectory, int ballast_mib = 0)
      : a_("node-1"), b_("node-2"), ws_(unique_name(tag)), checkpoint_("c-" + ws_) {
    if (kind == StoreKind::kS3) {
      auto config = minio().config(minio().make_bucket("faults"));
      store_url_ = "s3://" + config.bucket + "/wscp?endpoint=" + config.endpoint;
      store_args_ = {"--segment-size", "0.0625"};  // 64 KiB: a transfer of many objects
    } else {
      store_url_ = "file://" + store_.path().string();
    }
    key_ = write_key(keys_.path(), "key", {'a'});
    fault_log_ = (journals_.path() / "faults.log").string();
    if (ballast_mib > 0) {
      a_.run(ws_, {"/bin/sh", "-c",
                   "/usr/local/bin/wscp-memload " + std::to_string(ballast_mib) +
                       " /var/wscp/memload 1000 & exec /usr/local/bin/wscp-counter /var/wscp/count 20"});
    } else {
      a_.run(ws_, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "20"});
    }
    b_.ensure_testbox();
    REQUIRE(eventually(30s, [&] { return a_.count(ws_) >= 5; }));
    before_ = a_.count(ws_);
  }
  ~Flow() {
    a_.remove(ws_);
    b_.remove(ws_);
  }

  const std::string& store_url() const { return store_url_; }
  const std::string& ws() const { return ws_; }
  const std::string& checkpoint() const { return checkpoint_; }
  // The checkpoint the verbs name from now on.
  void use_checkpoint(std::string id) { checkpoint_ = std::move(id); }
  // Node `node`'s verbs reach Podman through this socket from now on.
  void use_socket(int node, std::string socket) { (node == 1 ? socket_a_ : socket_b_) = std::move(socket); }
  const std::string& fault_log() const { return fault_log_; }
  void use_key(std::string key_file) { key_ = std::move(key_file); }
  const std::filesystem::path& key_dir() const { return keys_.path(); }
  const std::filesystem::path& store_dir() const { return store_.path(); }

  // verb on node 1 (the source) or 2 (the destination).
  AgentRun verb(const std::string& name, int node, std::vector<std::string> extra = {},
                std::vector<std::string> env = {}) {
    SandboxNode& n = node == 1 ? a_ : b_;
    const std::string& socket = node == 1 ? socket_a_ : socket_b_;
    std::vector<std::string> args{name,       "--node",    n.name(),  "--socket", socket.empty() ? n.socket() : socket,
                                  "--journal", journal(node), "--via", store_url(), "--encryption-key",
                                  key_,       "--settle-seconds", "1"};
    if (name != "resume" || std::find(extra.begin(), extra.end(), "--pending") == extra.end()) {
      if (name != "plan") extra.insert(extra.end(), {"--workspace", ws_, "--checkpoint", checkpoint_});
    }
    args.insert(args.end(), store_args_.begin(), store_args_.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return run_agent(args, env);
  }
  // The one-shot `migrate`, driving both nodes' phases from one process
  // with each node's own journal.
  AgentRun migrate(std::vector<std::string> env = {}, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"migrate",        "--from-node",      a_.name(),   "--from-socket", a_.socket(),
                                  "--from-journal", journal(1),         "--to-node", b_.name(),       "--to-socket",
                                  b_.socket(),      "--to-journal",     journal(2),  "--container",   ws_,
                                  "--checkpoint",   checkpoint_,        "--via",     store_url(),     "--encryption-key",
                                  key_,             "--settle-seconds", "1"};
    args.insert(args.end(), store_args_.begin(), store_args_.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return run_agent(args, env);
  }
  AgentRun plan(std::vector<std::string> env = {}) {
    return verb("plan", 1, {"--container", ws_, "--checkpoint", checkpoint_}, std::move(env));
  }

  migration::ClaimState claim_state() {
    auto objects = store::open_object_store(store_url());
    REQUIRE(objects.ok());
    migration::ObjectDocuments docs(**objects);
    auto ring = store::load_keyring_file(key_);
    REQUIRE(ring.ok());
    auto claim = migration::ClaimLog(docs, *ring, ws_, checkpoint_).current();
    REQUIRE_MESSAGE(claim.ok(), (claim.ok() ? "" : claim.error().describe()));
    return claim->state;
  }
  bool sealed() {
    auto objects = store::open_object_store(store_url());
    REQUIRE(objects.ok());
    auto found = (*objects)->head("workspaces/" + ws_ + "/checkpoints/" + checkpoint_ + "/manifest.json");
    REQUIRE(found.ok());
    return found->has_value();
  }
  bool lock_held() {
    auto objects = store::open_object_store(store_url());
    REQUIRE(objects.ok());
    migration::ObjectDocuments docs(**objects);
    auto ring = store::load_keyring_file(key_);
    REQUIRE(ring.ok());
    auto lock = migration::WorkspaceLock(docs, *ring, ws_).current();
    REQUIRE(lock.ok());
    return lock->held;
  }

  // The driver, after a failure: what the claim says decides.
  void drive_to_the_end() {
    auto state = claim_state();
    if (state == migration::ClaimState::kNone && sealed()) {
      auto restored = verb("restore", 2);
      INFO(restored.output);
      state = claim_state();
    }
    if (state == migration::ClaimState::kRestored) {
      auto released = verb("release", 1);
      INFO(released.output);
      CHECK(released.exit_code == 0);
    } else if (state == migration::ClaimState::kAbandoned ||
               (state == migration::ClaimState::kNone && !sealed() && !source_running())) {
      auto resumed = verb("resume", 1);
      INFO(resumed.output);
      CHECK(resumed.exit_code == 0);
    }
  }

  // The invariants of every row.
  void check_running_exactly_once() {
    int running = 0, other = 0;
    SandboxNode* where = nullptr;
    for (SandboxNode* n : {&a_, &b_}) {
      auto list = n->client().list_containers("dev.containers.id=" + ws_);
      REQUIRE(list.ok());
      for (const auto& c : *list) {
        if (c.state == "running") {
          ++running;
          where = n;
        } else {
          ++other;
        }
      }
    }
    if (running == 0) ++totals.lost;
    if (running > 1) ++totals.duplicates;
    CHECK_MESSAGE(running == 1, "running copies: " << running);
    CHECK_MESSAGE(other == 0, "containers left that do not run: " << other);
    if (where != nullptr) {
      CHECK(where->count(ws_) >= before_);
      const long long now = where->count(ws_);
      CHECK(eventually(30s, [&] { return where->count(ws_) > now; }));
    }
    for (int node : {1, 2}) {
      if (!std::filesystem::exists(journal(node))) continue;  // that node never ran a phase
      int entries = 0;
      for (const auto& e : std::filesystem::directory_iterator(journal(node))) entries += e.path().extension() == ".json";
      CHECK_MESSAGE(entries == 0, "journal of node " << node << " still holds " << entries << " entries");
    }
    CHECK_FALSE(lock_held());
  }

  bool source_running() {
    auto c = a_.client().inspect_container(ws_);
    return c.ok() && c->running();
  }

 private:
  std::string journal(int node) const { return (journals_.path() / ("node-" + std::to_string(node))).string(); }

  SandboxNode a_, b_;
  TempDir store_, journals_, keys_;
  std::string ws_, checkpoint_, key_, fault_log_, store_url_, socket_a_, socket_b_;
  std::vector<std::string> store_args_;
  long long before_ = 0;
};

bool log_has(const std::string& log, const std::string& point) {
  std::ifstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(point + " ", 0) == 0) return true;
  }
  return false;
}

// Runs a verb in the background, for rows that act while it waits at a
// fault point armed with "wait".
std::future<AgentRun> in_background(std::function<AgentRun()> run) { return std::async(std::launch::async, std::move(run)); }

std::vector<std::string> wait_at(const Flow& flow, const std::string& point) {
  return {"WSCP_FAULT=" + point + "=wait", "WSCP_FAULT_LOG=" + flow.fault_log()};
}

// Waits until the background verb reached `point` (it pauses there).
void await_point(const Flow& flow, const std::string& point, std::future<AgentRun>& run) {
  const bool reached = eventually(300s, [&] {
    return log_has(flow.fault_log(), point) || run.wait_for(0s) == std::future_status::ready;
  });
  REQUIRE_MESSAGE((reached && log_has(flow.fault_log(), point)),
                  "the fault point " << point << " was never reached"
                                     << (run.wait_for(0s) == std::future_status::ready ? ": " + run.get().output : ""));
}

// Lets the paused verb go on.
void release_point(const Flow& flow, const std::string& point) {
  std::ofstream(flow.fault_log() + "." + point + ".go") << "go\n";
}

struct KillRow {
  const char* point;
  const char* action;  // kill | term
};

// plan, checkpoint on node 1; restore on node 2; release on node 1: the
// step whose point is armed dies there.
void run_kill_row(const KillRow& row) {
  const std::string point_name = row.point, action_name = row.action;
  CAPTURE(point_name);
  CAPTURE(action_name);
  ++totals.faults;
  Flow flow("fault");
  const std::string point = row.point;
  const std::vector<std::string> env{"WSCP_FAULT=" + point + "=" + row.action, "WSCP_FAULT_LOG=" + flow.fault_log()};
  auto armed = [&](const char* prefix) { return point.rfind(prefix, 0) == 0 ? env : std::vector<std::string>{}; };
  const int expected_signal = std::string(row.action) == "kill" ? SIGKILL : SIGTERM;

  struct Step {
    const char* prefix;
    std::function<AgentRun(std::vector<std::string>)> run;
    int node;
  };
  const std::vector<Step> steps{
      {"plan.", [&](auto e) { return flow.plan(e); }, 1},
      {"checkpoint.", [&](auto e) { return flow.verb("checkpoint", 1, {}, e); }, 1},
      {"restore.", [&](auto e) { return flow.verb("restore", 2, {}, e); }, 2},
      {"release.", [&](auto e) { return flow.verb("release", 1, {}, e); }, 1},
  };
  int died_on = 0;
  for (const auto& step : steps) {
    AgentRun r = step.run(armed(step.prefix));
    INFO(r.output);
    if (r.signal != 0) {
      CHECK(r.signal == expected_signal);
      died_on = step.node;
      break;
    }
    REQUIRE_MESSAGE(r.exit_code == 0, step.prefix << " failed: " << r.output);
  }
  REQUIRE_MESSAGE(died_on != 0, "the fault point " << point << " was never reached");
  CHECK(log_has(flow.fault_log(), point));

  // The node's next start finishes or undoes what its journal holds.
  AgentRun recovered = flow.verb("resume", died_on, {"--pending"});
  INFO(recovered.output);
  CHECK(recovered.exit_code == 0);
  flow.drive_to_the_end();
  flow.check_running_exactly_once();
}

}  // namespace

TEST_CASE("fault suite: a process killed at any step loses nothing") {
  const KillRow rows[] = {
      {"plan.after-lock", "kill"},
      {"checkpoint.before-dump", "kill"},
      {"checkpoint.mid-upload", "kill"},
      {"checkpoint.before-seal", "kill"},
      {"checkpoint.after-seal", "kill"},
      {"restore.before-import", "kill"},
      {"restore.mid-import", "kill"},
      {"restore.before-finish", "kill"},
      {"release.before-remove", "kill"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.point) { run_kill_row(row); }
  }
}

TEST_CASE("fault suite: `migrate` killed at any step loses nothing") {
  // The point, and the node whose journal holds the step that died.
  const std::pair<const char*, int> rows[] = {
      {"plan.after-lock", 1},        {"checkpoint.mid-upload", 1}, {"checkpoint.before-seal", 1},
      {"checkpoint.after-seal", 1},  {"restore.before-import", 2}, {"restore.mid-import", 2},
      {"release.before-remove", 1},
  };
  for (const auto& [point_name, node] : rows) {
    SUBCASE(point_name) {
      const std::string point = point_name;
      ++totals.faults;
      Flow flow("mkill");
      AgentRun r = flow.migrate({"WSCP_FAULT=" + point + "=kill", "WSCP_FAULT_LOG=" + flow.fault_log()});
      INFO(r.output);
      CHECK(r.signal == SIGKILL);
      CHECK(log_has(flow.fault_log(), point));
      // Each node's next start, then a person's decision from the claim.
      for (int n : {node, 3 - node}) {
        AgentRun recovered = flow.verb("resume", n, {"--pending"});
        INFO(recovered.output);
        CHECK(recovered.exit_code == 0);
      }
      flow.drive_to_the_end();
      flow.check_running_exactly_once();
    }
  }
}

TEST_CASE("fault suite: cut-through between two processes, the source or the destination killed mid-transfer") {
  for (const std::string dies : {"source", "destination"}) {
    SUBCASE(dies.c_str()) {
      ++totals.faults;
      Flow flow("cutkill", StoreKind::kDirectory, /*ballast_mib=*/64);
      REQUIRE(flow.plan().exit_code == 0);
      const bool source_dies = dies == "source";
      const std::string point = source_dies ? "checkpoint.mid-upload" : "restore.mid-import";
      const std::vector<std::string> kill{"WSCP_FAULT=" + point + "=kill", "WSCP_FAULT_LOG=" + flow.fault_log()};
      // The restore follows the checkpoint from its own process, as the
      // destination's agent would.
      auto restore = in_background(
          [&] { return flow.verb("restore", 2, {"--cut-through", "10"}, source_dies ? std::vector<std::string>{} : kill); });
      // It holds the claim before anything is dumped: a cut-through for sure.
      REQUIRE(eventually(60s, [&] { return flow.claim_state() == migration::ClaimState::kRestoring; }));
      AgentRun checkpoint = flow.verb("checkpoint", 1, {}, source_dies ? kill : std::vector<std::string>{});
      AgentRun restored = restore.get();
      INFO(checkpoint.output);
      INFO(restored.output);
      CHECK(log_has(flow.fault_log(), point));
      if (source_dies) {
        CHECK(checkpoint.signal == SIGKILL);
        // No seal comes: the destination gives up and abandons its claim.
        CHECK(restored.exit_code != 0);
        CHECK(restored.output.find("did not appear") != std::string::npos);
        CHECK(flow.claim_state() == migration::ClaimState::kAbandoned);
      } else {
        CHECK(restored.signal == SIGKILL);
        CHECK(checkpoint.exit_code == 0);  // sealed while the destination held the claim (taken above)
      }
      for (int n : {2, 1}) {
        AgentRun recovered = flow.verb("resume", n, {"--pending"});
        INFO(recovered.output);
        CHECK(recovered.exit_code == 0);
      }
      flow.drive_to_the_end();
      flow.check_running_exactly_once();
    }
  }
}

TEST_CASE("fault suite: SIGTERM, as a node being reclaimed sends, loses nothing") {
  const KillRow rows[] = {
      {"checkpoint.mid-upload", "term"},
      {"restore.mid-import", "term"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.point) { run_kill_row(row); }
  }
}

TEST_CASE("fault suite: `delete` keeps a stopped workspace's only archive, and deletes it once released") {
  ++totals.faults;
  auto files_under = [](const std::filesystem::path& dir) {
    std::size_t n = 0;
    if (!std::filesystem::exists(dir)) return n;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
    return n;
  };
  Flow flow("retain");
  REQUIRE(flow.plan().exit_code == 0);
  REQUIRE(flow.verb("checkpoint", 1).exit_code == 0);
  const auto archive = flow.store_dir() / "workspaces" / flow.ws() / "checkpoints" / flow.checkpoint();
  REQUIRE(std::filesystem::exists(archive / "manifest.json"));
  REQUIRE(files_under(flow.store_dir() / "images") > 0);

  AgentRun refused = flow.verb("delete", 2, {"--image-grace", "0"});
  INFO(refused.output);
  CHECK(refused.exit_code != 0);
  CHECK(refused.output.find("only copy of a stopped workspace") != std::string::npos);
  CHECK(std::filesystem::exists(archive / "manifest.json"));

  REQUIRE(flow.verb("restore", 2).exit_code == 0);
  // Restored, but the source has not released it yet: its recovery would read the plan.
  AgentRun early = flow.verb("delete", 2, {"--image-grace", "0"});
  INFO(early.output);
  CHECK(early.exit_code != 0);
  CHECK(early.output.find("node node-1 still holds the workspace lock") != std::string::npos);
  CHECK(std::filesystem::exists(archive / "manifest.json"));

  REQUIRE(flow.verb("release", 1).exit_code == 0);
  AgentRun deleted = flow.verb("delete", 2, {"--image-grace", "0"});
  INFO(deleted.output);
  REQUIRE(deleted.exit_code == 0);
  CHECK(deleted.output.find("images: 1 removed, 0 kept") != std::string::npos);
  CHECK(files_under(archive) == 0);
  CHECK(files_under(flow.store_dir() / "images") == 0);
  flow.check_running_exactly_once();
}

TEST_CASE("fault suite: two migrations of the same workspace at once: the second is refused, naming the holder") {
  ++totals.faults;
  Flow flow("twice");
  REQUIRE(flow.plan().exit_code == 0);
  AgentRun second = flow.verb("plan", 1, {"--container", flow.ws(), "--checkpoint", "other-" + flow.ws()});
  CHECK(second.exit_code != 0);
  CHECK(second.output.find("being migrated by node node-1") != std::string::npos);
  CHECK(second.output.find(flow.checkpoint()) != std::string::npos);
  REQUIRE(flow.verb("checkpoint", 1).exit_code == 0);
  REQUIRE(flow.verb("restore", 2).exit_code == 0);
  REQUIRE(flow.verb("release", 1).exit_code == 0);
  flow.check_running_exactly_once();
}

TEST_CASE("fault suite: archive bytes flipped at rest are refused before Podman; the source resumes") {
  ++totals.faults;
  Flow flow("flipped");
  REQUIRE(flow.plan().exit_code == 0);
  REQUIRE(flow.verb("checkpoint", 1).exit_code == 0);
  // Flip one byte in the middle of the container's archive (its largest object).
  std::filesystem::path archive;
  for (const auto& e : std::filesystem::recursive_directory_iterator(flow.store_dir() / "workspaces" / flow.ws())) {
    if (e.is_regular_file() && e.path().extension() != ".json" &&
        (archive.empty() || e.file_size() > std::filesystem::file_size(archive))) {
      archive = e.path();
    }
  }
  REQUIRE_FALSE(archive.empty());
  {
    std::fstream f(archive, std::ios::in | std::ios::out | std::ios::binary);
    const auto middle = static_cast<std::streamoff>(std::filesystem::file_size(archive) / 2);
    char c = 0;
    f.seekg(middle);
    f.read(&c, 1);
    f.seekp(middle);
    c = static_cast<char>(c ^ 0x10);
    f.write(&c, 1);
  }
  AgentRun restored = flow.verb("restore", 2);
  INFO(restored.output);
  CHECK(restored.exit_code != 0);
  CHECK(flow.claim_state() == migration::ClaimState::kAbandoned);
  REQUIRE(flow.verb("resume", 1).exit_code == 0);
  flow.check_running_exactly_once();
}

TEST_CASE("fault suite: a wrong key is refused by name; an old key of the keyring still reads") {
  ++totals.faults;
  Flow flow("keys");
  REQUIRE(flow.plan().exit_code == 0);
  REQUIRE(flow.verb("checkpoint", 1).exit_code == 0);
  const std::string original_key = (flow.key_dir() / "key").string();
  flow.use_key(write_key(flow.key_dir(), "wrong", {'b'}));
  AgentRun wrong = flow.verb("restore", 2);
  CHECK(wrong.exit_code != 0);
  CHECK(wrong.output.find("permission denied") != std::string::npos);
  CHECK(wrong.output.find("add the key it was made with") != std::string::npos);
  CHECK(flow.claim_state() == migration::ClaimState::kNone);  // refused before claiming
  // A rotated keyring: a new current key, the old one still listed.
  flow.use_key(write_key(flow.key_dir(), "rotated", {'c', 'a'}));
  AgentRun restored = flow.verb("restore", 2);
  INFO(restored.output);
  REQUIRE(restored.exit_code == 0);
  REQUIRE(flow.verb("release", 1).exit_code == 0);
  flow.check_running_exactly_once();
}

namespace {

struct OutageRow {
  const char* point;  // where the verb pauses while the store goes down
  const char* verb;
  int node;
  bool for_good;  // down until the verb gave up, else for 3 s
};

// The store stops answering while a verb is in the middle of its transfer.
void run_outage_row(const OutageRow& row) {
  const std::string point = row.point;
  CAPTURE(point);
  CAPTURE(row.for_good);
  ++totals.faults;
  Flow flow("outage", StoreKind::kS3, /*ballast_mib=*/8);
  REQUIRE(flow.plan().exit_code == 0);
  if (std::string(row.verb) == "restore") REQUIRE(flow.verb("checkpoint", 1).exit_code == 0);

  auto running = in_background([&] { return flow.verb(row.verb, row.node, {}, wait_at(flow, point)); });
  await_point(flow, point, running);
  minio().stop();
  release_point(flow, point);
  const auto released = std::chrono::steady_clock::now();
  if (!row.for_good) {
    std::this_thread::sleep_for(3s);  // the outage itself
    minio().start();
  }
  AgentRun r = running.get();
  INFO(r.output);
  // The verb still had objects to move when the store went down: it could
  // not have ended before the store came back (or gave up on it).
  CHECK(std::chrono::steady_clock::now() - released >= 3s);
  if (row.for_good) {
    minio().start();  // back only after the verb gave up
    CHECK(r.exit_code != 0);
    // The node's next start settles what the outage left open.
    AgentRun recovered = flow.verb("resume", row.node, {"--pending"});
    INFO(recovered.output);
    CHECK(recovered.exit_code == 0);
  } else {
    CHECK_MESSAGE(r.exit_code == 0, "a 3 s outage must be ridden out by retries");
  }
  flow.drive_to_the_end();
  flow.check_running_exactly_once();
}

// A unix socket in front of a node's Podman socket that a test can take away
// (test/integration/migration/socket_proxy.py).
class SocketProxy {
 public:
  SocketProxy(const std::string& target, std::filesystem::path listen) : listen_(std::move(listen)) {
    const char* script = std::getenv("WSCP_SOCKET_PROXY");
    REQUIRE_MESSAGE(script != nullptr, "WSCP_SOCKET_PROXY is not set: run through ctest");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execlp("python3", "python3", script, listen_.c_str(), target.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    REQUIRE(eventually(30s, [&] { return std::filesystem::exists(listen_); }));
  }
  ~SocketProxy() { kill(); }
  const std::filesystem::path& path() const { return listen_; }
  // Every connection through the proxy breaks; new ones are refused.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  std::filesystem::path listen_;
  pid_t pid_ = -1;
};

}  // namespace

TEST_CASE("fault suite S3: the store down for 3 s or for good, during the upload or the download") {
  const OutageRow rows[] = {
      {"checkpoint.mid-upload", "checkpoint", 1, false},
      {"checkpoint.mid-upload", "checkpoint", 1, true},
      {"restore.mid-import", "restore", 2, false},
      {"restore.mid-import", "restore", 2, true},
  };
  for (const auto& row : rows) {
    SUBCASE((std::string(row.verb) + (row.for_good ? " store gone for good" : " store down 3 s")).c_str()) {
      run_outage_row(row);
    }
  }
}

TEST_CASE("fault suite S3: the store down for 3 s or for good during a cut-through `migrate`") {
  for (bool for_good : {false, true}) {
    SUBCASE(for_good ? "store gone for good" : "store down 3 s") {
      ++totals.faults;
      Flow flow("cutout", StoreKind::kS3, /*ballast_mib=*/8);
      // The source pauses mid-dump while the destination follows the archive.
      const std::string point = "checkpoint.mid-upload";
      auto running = in_background(
          [&] { return flow.migrate(wait_at(flow, point), {"--follow-timeout", "15", "--output", "json"}); });
      await_point(flow, point, running);
      minio().stop();
      release_point(flow, point);
      if (!for_good) {
        std::this_thread::sleep_for(3s);
        minio().start();
      }
      AgentRun r = running.get();
      INFO(r.output);
      if (for_good) {
        CHECK(r.exit_code != 0);
        CHECK(flow.source_running());  // back from Podman's kept checkpoint, without the store
        minio().start();
        // Each node's next start: the destination gives its claim up, then
        // the source records its resume.
        for (int n : {2, 1}) {
          AgentRun recovered = flow.verb("resume", n, {"--pending"});
          INFO(recovered.output);
          CHECK(recovered.exit_code == 0);
        }
      } else {
        CHECK_MESSAGE(r.exit_code == 0, "a 3 s outage must be ridden out by retries on both sides");
        // The report, as `--output json` gives it to a script.
        const auto at = r.output.find("{\n");
        REQUIRE(at != std::string::npos);
        const auto report = nlohmann::json::parse(r.output.substr(at), nullptr, false);
        REQUIRE(report.is_object());
        CHECK(report.value("outcome", "") == "migrated");
        CHECK(report.value("cutThrough", false));
        CHECK(report.value("archiveBytes", 0) > 0);
        CHECK(report.at("stages").contains("checkpoint"));
        CHECK(report.at("stages").contains("download"));
      }
      flow.drive_to_the_end();
      flow.check_running_exactly_once();
    }
  }
}

TEST_CASE("fault suite S3: a process killed mid-upload to S3 loses nothing") {
  ++totals.faults;
  Flow flow("s3kill", StoreKind::kS3);
  REQUIRE(flow.plan().exit_code == 0);
  const std::string point = "checkpoint.mid-upload";
  AgentRun r = flow.verb("checkpoint", 1, {}, {"WSCP_FAULT=" + point + "=kill", "WSCP_FAULT_LOG=" + flow.fault_log()});
  INFO(r.output);
  CHECK(r.signal == SIGKILL);
  CHECK(log_has(flow.fault_log(), point));
  AgentRun recovered = flow.verb("resume", 1, {"--pending"});
  INFO(recovered.output);
  CHECK(recovered.exit_code == 0);
  flow.drive_to_the_end();
  flow.check_running_exactly_once();
}

TEST_CASE("fault suite: the Podman socket gone mid-restore leaves nothing half-made") {
  ++totals.faults;
  Flow flow("socket");
  REQUIRE(flow.plan().exit_code == 0);
  REQUIRE(flow.verb("checkpoint", 1).exit_code == 0);
  TempDir dir;
  SocketProxy proxy(SandboxNode("node-2").socket(), dir.path() / "podman.sock");
  flow.use_socket(2, proxy.path().string());
  const std::string point = "restore.mid-import";
  auto running = in_background([&] { return flow.verb("restore", 2, {}, wait_at(flow, point)); });
  await_point(flow, point, running);
  proxy.kill();  // the socket goes away with the restore call on it
  release_point(flow, point);
  AgentRun r = running.get();
  INFO(r.output);
  CHECK(r.exit_code != 0);
  // The node's next start, its socket back, finds out what Podman made.
  flow.use_socket(2, "");
  AgentRun recovered = flow.verb("resume", 2, {"--pending"});
  INFO(recovered.output);
  CHECK(recovered.exit_code == 0);
  flow.drive_to_the_end();
  flow.check_running_exactly_once();
}

TEST_CASE("fault suite: a restore slower than the client's timeout is awaited, never run twice") {
  ++totals.faults;
  Flow flow("slow");
  REQUIRE(flow.plan().exit_code == 0);
  REQUIRE(flow.verb("checkpoint", 1).exit_code == 0);
  // A call bound far below what CRIU needs: the call ends first, Podman's
  // own outcome decides.
  AgentRun restored = flow.verb("restore", 2, {"--restore-timeout-floor", "0.1"});
  INFO(restored.output);
  CHECK(restored.output.find("awaiting-podman") != std::string::npos);
  CHECK(restored.exit_code == 0);
  CHECK(flow.claim_state() == migration::ClaimState::kRestored);
  REQUIRE(flow.verb("release", 1).exit_code == 0);
  flow.check_running_exactly_once();
}

namespace {

namespace fs = std::filesystem;

// What a checkpoint holds in a directory store, by kind.
bool is_manifest(const fs::path& rel) { return rel == "manifest.json"; }
bool is_plan(const fs::path& rel) { return rel == "plan.json"; }
bool is_archive(const fs::path& rel) {
  return !is_manifest(rel) && !is_plan(rel) && *rel.begin() != "claim";
}

// Replaces the objects `pick` selects in checkpoint `to` by those of `from`.
void transplant(const fs::path& from, const fs::path& to, const std::function<bool(const fs::path&)>& pick) {
  std::vector<fs::path> doomed;
  for (const auto& e : fs::recursive_directory_iterator(to)) {
    if (e.is_regular_file() && pick(fs::relative(e.path(), to))) doomed.push_back(e.path());
  }
  for (const auto& p : doomed) fs::remove(p);
  for (const auto& e : fs::recursive_directory_iterator(from)) {
    const auto rel = fs::relative(e.path(), from);
    if (!e.is_regular_file() || !pick(rel)) continue;
    fs::create_directories((to / rel).parent_path());
    fs::copy_file(e.path(), to / rel, fs::copy_options::overwrite_existing);
  }
}

}  // namespace

TEST_CASE("fault suite: a manifest, a plan or an archive swapped in from another checkpoint is refused") {
  Flow flow("swap");
  // An older checkpoint of the same workspace, properly sealed and then
  // given up (the workspace resumed on the source)...
  const std::string older = "old-" + flow.ws(), newer = flow.checkpoint();
  flow.use_checkpoint(older);
  REQUIRE(flow.plan().exit_code == 0);
  REQUIRE(flow.verb("checkpoint", 1).exit_code == 0);
  REQUIRE(flow.verb("resume", 1).exit_code == 0);
  // ... and the one being migrated now.
  flow.use_checkpoint(newer);
  REQUIRE(flow.plan().exit_code == 0);
  REQUIRE(flow.verb("checkpoint", 1).exit_code == 0);

  const fs::path checkpoints = flow.store_dir() / "workspaces" / flow.ws() / "checkpoints";
  const fs::path from = checkpoints / older, to = checkpoints / newer;
  const fs::path saved = flow.store_dir().parent_path() / ("saved-" + flow.ws());
  fs::copy(to, saved, fs::copy_options::recursive);
  struct Swap {
    const char* what;
    std::function<bool(const fs::path&)> pick;
  };
  // Refused before anything is claimed or streamed: the checkpoint stays
  // restorable once the genuine objects are back.
  const Swap before_claim[] = {
      {"manifest", is_manifest},
      {"plan", is_plan},
      {"archive with its manifest", [](const fs::path& rel) { return is_manifest(rel) || is_archive(rel); }},
  };
  for (const auto& swap : before_claim) {
    CAPTURE(swap.what);
    ++totals.faults;
    transplant(from, to, swap.pick);
    AgentRun r = flow.verb("restore", 2);
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK(r.output.find("integrity") != std::string::npos);
    CHECK(flow.claim_state() == migration::ClaimState::kNone);
    transplant(saved, to, swap.pick);
  }
  // An archive alone swapped: its digests are not the manifest's.
  ++totals.faults;
  transplant(from, to, is_archive);
  AgentRun r = flow.verb("restore", 2);
  INFO(r.output);
  CHECK(r.exit_code != 0);
  CHECK(r.output.find("integrity") != std::string::npos);
  CHECK(flow.claim_state() != migration::ClaimState::kRestored);
  REQUIRE(flow.verb("resume", 1).exit_code == 0);
  fs::remove_all(saved);
  flow.check_running_exactly_once();
}

}  // namespace wscp::testing
