// Getting a workspace back, and never running it twice, through the phases
// against real Podman: the source's kept checkpoint lost, and a restore call
// that ends while Podman carries on.
#include <doctest/doctest.h>

#include <atomic>
#include <functional>
#include <thread>
#include <utility>

#include "sandbox_node.h"

namespace wscp::testing {
namespace {

using namespace std::chrono_literals;

// A node's client that passes everything to the real one; tests override
// what they change.
class ForwardingClient : public podman::PodmanClient {
 public:
  explicit ForwardingClient(podman::PodmanClient& inner) : inner_(inner) {}

  Result<std::string> restore(ByteSource& archive, const podman::RestoreOptions& options, const OperationContext& ctx,
                              std::chrono::milliseconds timeout) override {
    return inner_.restore(archive, options, ctx, timeout);
  }
  Result<podman::HostInfo> info() override { return inner_.info(); }
  Result<podman::ContainerInfo> inspect_container(const std::string& n) override { return inner_.inspect_container(n); }
  Result<std::vector<podman::ContainerSummary>> list_containers(const std::string& f) override {
    return inner_.list_containers(f);
  }
  Result<bool> container_exists(const std::string& n) override { return inner_.container_exists(n); }
  Status remove_container(const std::string& n, bool force) override { return inner_.remove_container(n, force); }
  Status rename_container(const std::string& n, const std::string& to) override { return inner_.rename_container(n, to); }
  Status checkpoint(const std::string& n, const podman::CheckpointOptions& o, ByteSink& out,
                    const OperationContext& ctx) override {
    return inner_.checkpoint(n, o, out, ctx);
  }
  Result<std::string> restore_in_place(const std::string& n, const podman::RestoreOptions& o) override {
    return inner_.restore_in_place(n, o);
  }
  Result<std::optional<podman::ImageInfo>> find_image(const std::string& n) override { return inner_.find_image(n); }
  Status export_image(const std::string& n, ByteSink& out, const OperationContext& ctx) override {
    return inner_.export_image(n, out, ctx);
  }
  Result<std::vector<std::string>> load_image(ByteSource& in, const OperationContext& ctx) override {
    return inner_.load_image(in, ctx);
  }
  Result<std::vector<podman::ImageInfo>> list_images() override { return inner_.list_images(); }
  Status tag_image(const std::string& id, const std::string& n) override { return inner_.tag_image(id, n); }
  Status untag_image(const std::string& id, const std::string& n) override { return inner_.untag_image(id, n); }
  Status remove_image(const std::string& id) override { return inner_.remove_image(id); }
  Result<bool> network_exists(const std::string& n) override { return inner_.network_exists(n); }
  Status create_network(const std::string& n) override { return inner_.create_network(n); }
  Result<bool> volume_exists(const std::string& n) override { return inner_.volume_exists(n); }

 protected:
  podman::PodmanClient& inner_;
};

// The destination's client, which deletes the source's kept checkpoint
// when the destination starts its restore: in-place recovery on the source
// can then only fail.
class LosesKeptCheckpoint final : public ForwardingClient {
 public:
  LosesKeptCheckpoint(podman::PodmanClient& inner, std::filesystem::path kept)
      : ForwardingClient(inner), kept_(std::move(kept)) {}
  Result<std::string> restore(ByteSource& archive, const podman::RestoreOptions& options, const OperationContext& ctx,
                              std::chrono::milliseconds timeout) override {
    if (!kept_.empty()) {
      std::error_code ec;
      removed_ = std::filesystem::remove_all(kept_, ec) > 0;
      kept_.clear();
    }
    return inner_.restore(archive, options, ctx, timeout);
  }
  bool removed() const { return removed_; }

 private:
  std::filesystem::path kept_;
  bool removed_ = false;
};

TEST_CASE("with the source's kept checkpoint gone, the workspace comes back from the archive beside it") {
  SandboxNode a("node-1"), b("node-2");
  StoreFixture store;
  const std::string name = unique_name("rearchive");
  // A bind source on node-1 only; the destination is told to look at
  // node-1's files, so its pre-flight passes and CRIU fails there.
  const std::string bind_dir = "/tmp/" + name;
  std::filesystem::create_directories(a.root() / bind_dir.substr(1));
  const std::string id = a.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"},
                               {{"mounts", {{{"type", "bind"}, {"source", bind_dir}, {"destination", "/data"}}}}});
  REQUIRE(eventually(30s, [&] { return a.count(name) >= 10; }));
  const long long before = a.count(name);

  podman::EngineConfig misled = b.engine_config();
  misled.host_root = a.root();
  LosesKeptCheckpoint client(b.client(),
                             a.root() / "var/lib/containers/storage/overlay-containers" / id / "userdata/checkpoint");
  podman::Engine destination(client, misled);
  NodePhases from(a, store), to(b.name(), destination, store);
  migration::PlanRequest request;
  request.workspace = name;
  auto r = migrate(from, to, request);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().describe()));
  INFO((r->failure ? r->failure->describe() : ""));
  CHECK(client.removed());
  REQUIRE(r->outcome == migration::Outcome::kKeptOnSource);
  CHECK(r->warnings.empty());
  REQUIRE(r->running.size() == 1);
  CHECK(r->running[0].container.name == name);
  CHECK(r->running[0].container.id != id);  // the archive's copy, under the workspace's own name
  CHECK(r->running[0].id == name);
  CHECK(journal_empty(from));
  CHECK(journal_empty(to));
  CHECK_FALSE(*a.client().container_exists(name + "-wscp-recovered"));
  CHECK_FALSE(*a.client().container_exists(id));  // the stopped one went once the new one ran
  CHECK_FALSE(*b.client().container_exists(name));
  const long long resumed = a.count(name);
  CHECK(resumed >= before);  // from the archive's memory, not restarted
  CHECK(eventually(30s, [&] { return a.count(name) >= resumed + 10; }));
  a.remove(name);
  std::filesystem::remove_all(a.root() / bind_dir.substr(1));
}

// A node's client whose restore call gives up (is cancelled) shortly after
// it has handed Podman the whole archive, as a client timeout would: Podman
// carries on by itself.
class AbandonsRestore final : public ForwardingClient {
 public:
  explicit AbandonsRestore(podman::PodmanClient& inner) : ForwardingClient(inner) {}
  ~AbandonsRestore() override {
    if (canceller_.joinable()) canceller_.join();
  }

  Result<std::string> restore(ByteSource& archive, const podman::RestoreOptions& options, const OperationContext& ctx,
                              std::chrono::milliseconds timeout) override {
    OperationContext mine = ctx;
    mine.cancel = std::make_shared<CancelToken>();
    NotesEnd body(archive, [this, token = mine.cancel] {
      canceller_ = std::thread([this, token] {
        std::this_thread::sleep_for(100ms);  // the last bytes reach Podman
        token->cancel();
        abandoned = true;
      });
    });
    return inner_.restore(body, options, mine, timeout);
  }

  std::atomic<bool> abandoned{false};

 private:
  class NotesEnd final : public ByteSource {
   public:
    NotesEnd(ByteSource& inner, std::function<void()> at_end) : inner_(inner), at_end_(std::move(at_end)) {}
    Result<std::size_t> read(std::span<std::byte> buffer) override {
      auto n = inner_.read(buffer);
      if (n.ok() && *n == 0 && at_end_) std::exchange(at_end_, nullptr)();
      return n;
    }

   private:
    ByteSource& inner_;
    std::function<void()> at_end_;
  };

  std::thread canceller_;
};

TEST_CASE("a restore call abandoned after Podman has the archive is awaited, and the workspace runs once") {
  SandboxNode a("node-1"), b("node-2");
  StoreFixture store;
  const std::string name = unique_name("abandoned");
  a.run(name, {"/usr/local/bin/wscp-counter", "/var/wscp/count", "50"});
  REQUIRE(eventually(30s, [&] { return a.count(name) >= 10; }));
  const long long before = a.count(name);

  AbandonsRestore client(b.client());
  podman::Engine destination(client, b.engine_config());
  NodePhases from(a, store), to(b.name(), destination, store);
  bool awaited = false;
  OperationContext ctx;
  ctx.on_progress = [&](const Progress& p) { awaited = awaited || p.stage == "awaiting-podman"; };
  migration::PlanRequest request;
  request.workspace = name;
  auto r = migrate(from, to, request, ctx);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().describe()));
  INFO((r->failure ? r->failure->describe() : ""));
  CHECK(client.abandoned);
  CHECK(awaited);
  // Podman finished the restore by itself: the migration went through, and
  // the source did not come back beside it.
  CHECK(r->outcome == migration::Outcome::kMigrated);
  CHECK(journal_empty(from));
  CHECK(journal_empty(to));
  CHECK_FALSE(*a.client().container_exists(name));
  auto there = b.client().inspect_container(name);
  REQUIRE(there.ok());
  CHECK(there->running());
  CHECK(b.count(name) >= before);
  b.remove(name);
}

}  // namespace
}  // namespace wscp::testing
