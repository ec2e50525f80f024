#include "agent/dry_run/dry_run_node.h"

#include <doctest/doctest.h>

#include <algorithm>

using namespace wscp;
using namespace wscp::agent;
using namespace wscp::agent::dry_run;
using operations::Kind;
using operations::Request;

namespace {

DryRunOptions options(std::size_t workspaces) {
  DryRunOptions o;
  o.node = "node-a";
  o.workspaces = workspaces;
  o.labels = {{"wscp.dev/namespace", "bench"}};
  o.stores = {"main"};
  return o;
}

Result<operations::Outcome> run(DryRunNode& node, Kind kind, const std::string& workspace,
                                std::vector<std::string>* steps = nullptr) {
  OperationContext ctx;
  operations::RunContext rc{ctx, [steps](std::string_view step) {
                              if (steps) steps->emplace_back(step);
                            }};
  Request r;
  r.kind = kind;
  r.workspace = workspace;
  r.checkpoint_id = "ck-1";
  r.store = "main";
  return node.run(r, rc);
}

std::optional<inventory::Workspace> listed(DryRunNode& node, const std::string& id) {
  auto ws = node.workspaces();
  REQUIRE(ws.ok());
  auto it = std::find_if(ws->begin(), ws->end(), [&](const auto& w) { return w.id == id; });
  if (it == ws->end()) return std::nullopt;
  return *it;
}

}  // namespace

TEST_CASE("dry run: the made-up workspaces run, labelled, with the node's name in theirs") {
  DryRunNode node(options(3));
  auto ws = node.workspaces();
  REQUIRE(ws.ok());
  REQUIRE(ws->size() == 3);
  const auto& w = ws->at(2);
  CHECK(w.id == "node-a-ws-2");
  CHECK(w.primary == "node-a-ws-2");
  CHECK(w.running);
  CHECK(w.memory_bytes == 256ull << 20);
  CHECK(w.labels.at("wscp.dev/namespace") == "bench");
  CHECK(w.labels.at("dev.containers.id") == "node-a-ws-2");
  REQUIRE(w.containers.size() == 1);
  CHECK(w.containers[0].id.size() == 64);
  CHECK(w.containers[0].id != ws->at(1).containers[0].id);
  CHECK(node.capacity()->workspaces_running == 3);
}

TEST_CASE("dry run: a move's phases change the two nodes as the real ones would") {
  DryRunNode source(options(2));
  DryRunOptions dest_options = options(0);
  dest_options.node = "node-b";
  DryRunNode dest(dest_options);

  std::vector<std::string> steps;
  auto ck = run(source, Kind::kCheckpoint, "node-a-ws-1", &steps);
  REQUIRE_MESSAGE(ck.ok(), ck.error().describe());
  CHECK(steps == std::vector<std::string>{"checkpoint"});
  CHECK(ck->workspace_id == "node-a-ws-1");
  CHECK(ck->checkpoint_id == "ck-1");
  CHECK(ck->archive_bytes == 256ull << 20);
  CHECK_FALSE(listed(source, "node-a-ws-1")->running);
  CHECK(source.capacity()->workspaces_running == 1);
  CHECK(run(source, Kind::kCheckpoint, "node-a-ws-1").error().code() == ErrorCode::kNotFound);  // stopped now

  CHECK(source.preflight({std::nullopt, "node-a-ws-1", "ck-1", "main"}).error().code() == ErrorCode::kConflict);
  REQUIRE(dest.preflight({std::nullopt, "node-a-ws-1", "ck-1", "main"}).ok());
  auto restored = run(dest, Kind::kRestore, "node-a-ws-1");
  REQUIRE(restored.ok());
  CHECK(restored->primary == "node-a-ws-1");
  CHECK(listed(dest, "node-a-ws-1")->running);
  CHECK(run(dest, Kind::kRestore, "node-a-ws-1").error().code() == ErrorCode::kConflict);  // never twice

  REQUIRE(run(source, Kind::kRelease, "node-a-ws-1").ok());
  CHECK_FALSE(listed(source, "node-a-ws-1").has_value());
  CHECK(run(source, Kind::kRelease, "node-a-ws-1").ok());  // idempotent
  CHECK(run(dest, Kind::kRelease, "node-a-ws-1").error().code() == ErrorCode::kConflict);  // it runs there
  CHECK(run(dest, Kind::kDelete, "node-a-ws-1").ok());
}

TEST_CASE("dry run: a resume runs the stopped workspace again; a gone one is not found") {
  DryRunNode node(options(1));
  REQUIRE(run(node, Kind::kCheckpoint, "node-a-ws-0").ok());
  auto resumed = run(node, Kind::kResume, "node-a-ws-0");
  REQUIRE(resumed.ok());
  CHECK(resumed->containers == std::vector<std::string>{"node-a-ws-0"});
  CHECK(listed(node, "node-a-ws-0")->running);
  CHECK(run(node, Kind::kResume, "elsewhere").error().code() == ErrorCode::kNotFound);
}

TEST_CASE("dry run: stores are the configured names; a cancelled phase changes nothing") {
  DryRunOptions o = options(1);
  o.phase_duration = std::chrono::seconds(30);
  DryRunNode node(o);
  CHECK(node.check_store("main").ok());
  CHECK(node.check_store("").ok());  // the only one
  CHECK(node.check_store("other").error().code() == ErrorCode::kInvalidArgument);

  OperationContext ctx;
  ctx.cancel->cancel();
  operations::RunContext rc{ctx, [](std::string_view) {}};
  Request r;
  r.kind = Kind::kCheckpoint;
  r.workspace = "node-a-ws-0";
  r.checkpoint_id = "ck-1";
  auto out = node.run(r, rc);
  CHECK(out.error().code() == ErrorCode::kCancelled);
  CHECK(listed(node, "node-a-ws-0")->running);
}
