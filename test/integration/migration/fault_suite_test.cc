// The fault suite: every row runs the phase verbs as separate processes per
// node (as two machines would), makes one of them die at a named step (or
// tampers with the store), lets the node's next start (`resume --pending`)
// and the driver finish, and then asserts that the workspace runs exactly
// once, its count continuing, with nothing half-made left and the journals
// empty. docs/reliability.md lists the rows.
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>

#include "agent_process.h"
#include "migration/claim.h"
#include "migration/object_documents.h"
#include "migration/workspace_lock.h"
#include "sandbox_node.h"
#include "store/store_url.h"

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

// Two nodes, one store directory, a journal per node, one counting workspace.
class Flow {
 public:
  explicit Flow(const std::string& tag) : a_("node-1"), b_("node-2"), ws_(unique_name(tag)), checkpoint_("c-" + ws_) {
    key_ = write_key(keys_.path(), "key", {'a'});
    fault_log_ = (journals_.path() / "faults.log").string();
    a_.run(ws_, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "20"});
    b_.ensure_testbox();
    REQUIRE(eventually(30s, [&] { return a_.count(ws_) >= 5; }));
    before_ = a_.count(ws_);
  }
  ~Flow() {
    a_.remove(ws_);
    b_.remove(ws_);
  }

  std::string store_url() const { return "file://" + store_.path().string(); }
  const std::string& ws() const { return ws_; }
  const std::string& checkpoint() const { return checkpoint_; }
  const std::string& fault_log() const { return fault_log_; }
  void use_key(std::string key_file) { key_ = std::move(key_file); }
  const std::filesystem::path& key_dir() const { return keys_.path(); }
  const std::filesystem::path& store_dir() const { return store_.path(); }

  // verb on node 1 (the source) or 2 (the destination).
  AgentRun verb(const std::string& name, int node, std::vector<std::string> extra = {},
                std::vector<std::string> env = {}) {
    SandboxNode& n = node == 1 ? a_ : b_;
    std::vector<std::string> args{name,       "--node",    n.name(),  "--socket",         n.socket(),
                                  "--journal", journal(node), "--via", store_url(), "--encryption-key",
                                  key_,       "--settle-seconds", "1"};
    if (name != "resume" || std::find(extra.begin(), extra.end(), "--pending") == extra.end()) {
      if (name != "plan") extra.insert(extra.end(), {"--workspace", ws_, "--checkpoint", checkpoint_});
    }
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
  bool sealed() const {
    return std::filesystem::exists(store_.path() / "workspaces" / ws_ / "checkpoints" / checkpoint_ / "manifest.json");
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
  std::string ws_, checkpoint_, key_, fault_log_;
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

TEST_CASE("fault suite: SIGTERM, as a node being reclaimed sends, loses nothing") {
  const KillRow rows[] = {
      {"checkpoint.mid-upload", "term"},
      {"restore.mid-import", "term"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.point) { run_kill_row(row); }
  }
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
  // Flip one byte in the middle of the container's archive.
  std::filesystem::path archive;
  for (const auto& e : std::filesystem::recursive_directory_iterator(flow.store_dir() / "workspaces" / flow.ws())) {
    if (e.path().filename().string().find(".tar") != std::string::npos) archive = e.path();
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

}  // namespace wscp::testing
