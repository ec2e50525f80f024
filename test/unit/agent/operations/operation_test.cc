#include "agent/operations/operation.h"

#include <doctest/doctest.h>

using namespace wscp;
using namespace wscp::agent::operations;
using nlohmann::json;

TEST_CASE("operations: a request reads back equal and refuses unknown or mistyped fields") {
  Request r{Kind::kCheckpoint, "ws-1", "", "c1", "main", true, false};
  auto back = request_from_json(to_json(r));
  REQUIRE(back.ok());
  CHECK(*back == r);

  auto unknown = request_from_json(json{{"kind", "restore"}, {"workspace", "w"}, {"checkpointId", "c"}, {"extra", 1}});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message().find("extra is not a known field") != std::string::npos);

  auto typed = request_from_json(json{{"kind", "restore"}, {"workspace", 3}, {"checkpointId", "c"}});
  REQUIRE_FALSE(typed.ok());
  CHECK(typed.error().message().find("workspace must be a string") != std::string::npos);

  auto kind = request_from_json(json{{"kind", "explode"}, {"workspace", "w"}, {"checkpointId", "c"}});
  REQUIRE_FALSE(kind.ok());
  CHECK(kind.error().message().find("not one of checkpoint") != std::string::npos);

  auto both = request_from_json(json{{"kind", "checkpoint"}, {"workspace", "w"}, {"project", "p"}, {"checkpointId", "c"}});
  CHECK_FALSE(both.ok());
  auto no_cp = request_from_json(json{{"kind", "release"}, {"workspace", "w"}});
  REQUIRE_FALSE(no_cp.ok());
  CHECK(no_cp.error().message().find("checkpointId is required") != std::string::npos);
  auto bad_name = request_from_json(json{{"kind", "release"}, {"workspace", "../etc"}, {"checkpointId", "c"}});
  CHECK_FALSE(bad_name.ok());
  CHECK_FALSE(request_from_json(json::array()).ok());

  Request follow{Kind::kRestore, "ws-1", "", "c1", "", false, false, /*cut_through=*/true};
  auto follow_back = request_from_json(to_json(follow));
  REQUIRE(follow_back.ok());
  CHECK(follow_back->cut_through);
  auto cut_checkpoint =
      request_from_json(json{{"kind", "checkpoint"}, {"workspace", "w"}, {"checkpointId", "c"}, {"cutThrough", true}});
  REQUIRE_FALSE(cut_checkpoint.ok());
  CHECK(cut_checkpoint.error().message().find("cutThrough is only for a restore") != std::string::npos);

  Request remove{Kind::kDelete, "ws-1", "", "c1", "main"};
  auto remove_back = request_from_json(to_json(remove));
  REQUIRE(remove_back.ok());
  CHECK(*remove_back == remove);
  CHECK(to_json(remove)["kind"] == "delete");
  auto remove_project = request_from_json(json{{"kind", "delete"}, {"project", "p"}, {"checkpointId", "c"}});
  REQUIRE_FALSE(remove_project.ok());
  CHECK(remove_project.error().message().find("workspace (the workspace id) is required for delete") !=
        std::string::npos);
}

TEST_CASE("operations: ids are file-safe") {
  CHECK(validate_operation_id("op-1.a_b").ok());
  CHECK_FALSE(validate_operation_id("").ok());
  CHECK_FALSE(validate_operation_id(".hidden").ok());
  CHECK_FALSE(validate_operation_id("a/b").ok());
  CHECK_FALSE(validate_operation_id(std::string(129, 'a')).ok());
}

TEST_CASE("operations: an operation with every field reads back equal") {
  Operation op;
  op.id = "op-1";
  op.request = Request{Kind::kRestore, "ws", "", "c1", "", false, true};
  op.state = State::kSucceeded;
  op.created_at = "2026-01-01T00:00:00Z";
  op.started_at = "2026-01-01T00:00:01Z";
  op.finished_at = "2026-01-01T00:00:02Z";
  op.progress = Progress{"upload", 10, 20, 1.5};
  op.steps = {StepTiming{"restore", "2026-01-01T00:00:01Z", 900}};
  op.outcome = Outcome{"ws", "c1", "box", {"box", "db"}, {"sha256:ab"}, 99, {{"box", 1, 2, 3, 4, 5, 6}}, 1000,
                       false, {"images were not collected: x"}, {{"dump", 700}, {"upload", 1200}}};
  op.failure = Failure{"internal", "x"};
  op.recovery = Recovery{migration::RecoveryAction::kRestoreUndone, "removed", true};
  auto back = operation_from_json(to_json(op));
  REQUIRE_MESSAGE(back.ok(), (back.ok() ? "" : back.error().message()));
  CHECK(*back == op);

  // A result field a newer agent adds is ignored; a known one mistyped is not.
  auto j = to_json(op);
  j["result"]["surprise"] = true;
  auto newer = operation_from_json(j);
  REQUIRE_MESSAGE(newer.ok(), (newer.ok() ? "" : newer.error().message()));
  CHECK(*newer == op);
  j["result"]["archiveBytes"] = "many";
  auto bad = operation_from_json(j);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message().find("archiveBytes") != std::string::npos);
  j = to_json(op);
  j["version"] = 99;
  CHECK_FALSE(operation_from_json(j).ok());

  // Step figures this version cannot use are left out, not a reason to
  // refuse the result: the known ones still read.
  j = to_json(op);
  j["result"]["stepDurationsMs"]["warp"] = -5;
  j["result"]["stepDurationsMs"][std::string(40, 's')] = 1;
  j["result"]["stepDurationsMs"]["pause"] = "long";
  auto odd = operation_from_json(j);
  REQUIRE_MESSAGE(odd.ok(), (odd.ok() ? "" : odd.error().message()));
  CHECK(odd->outcome->step_durations_ms == op.outcome->step_durations_ms);
  j["result"]["stepDurationsMs"] = "fast";
  odd = operation_from_json(j);
  REQUIRE(odd.ok());
  CHECK(odd->outcome->step_durations_ms.empty());

  // A record from before recovery actions were kept still reads; so does one
  // with an action this version does not know (written by a newer agent).
  j = to_json(op);
  j["recovery"].erase("action");
  auto old = operation_from_json(j);
  REQUIRE(old.ok());
  CHECK_FALSE(old->recovery->action.has_value());
  CHECK(old->recovery->outcome == "removed");
  j["recovery"]["action"] = "teleported";
  auto unknown = operation_from_json(j);
  REQUIRE(unknown.ok());
  CHECK_FALSE(unknown->recovery->action.has_value());
  CHECK(unknown->recovery->outcome == "removed");
}

TEST_CASE("an operation record as version 1 first wrote it (no recovery action) is still read") {
  const char* first = R"({
    "version": 1, "id": "op-7",
    "request": {"kind": "checkpoint", "workspace": "ws-1", "checkpointId": "c-7"},
    "state": "failed", "createdAt": "2026-12-01T08:00:00Z", "startedAt": "2026-12-01T08:00:01Z",
    "finishedAt": "2026-12-01T08:05:00Z",
    "progress": {"stage": "checkpoint", "bytes": 1048576, "bytesPerSecond": 0.0},
    "steps": [{"name": "plan", "startedAt": "2026-12-01T08:00:01Z", "durationMs": 40},
              {"name": "checkpoint", "startedAt": "2026-12-01T08:00:01Z", "durationMs": -1}],
    "error": {"code": "unavailable", "message": "the agent stopped while this operation ran"},
    "recovery": {"outcome": "died before the seal; the workspace runs on the source again", "pending": false}
  })";
  auto op = operation_from_json(nlohmann::json::parse(first));
  REQUIRE_MESSAGE(op.ok(), (op.ok() ? "" : op.error().message()));
  CHECK(op->state == State::kFailed);
  CHECK(op->steps.size() == 2);
  REQUIRE(op->recovery.has_value());
  CHECK_FALSE(op->recovery->action.has_value());
  CHECK(op->recovery->outcome.find("runs on the source") != std::string::npos);
}
