#include "controller/checkpoint_reconciler.h"

#include <algorithm>

#include "kube/api_error.h"
#include "kube/resource.h"

namespace wscp::controller {

namespace {

using nlohmann::json;

std::vector<std::string> finalizers_of(const json& object) {
  std::vector<std::string> out;
  const json::json_pointer p("/metadata/finalizers");
  if (!object.contains(p) || !object.at(p).is_array()) return out;
  for (const auto& f : object.at(p))
    if (f.is_string()) out.push_back(f.get<std::string>());
  return out;
}

// A transient failure is retried with backoff; anything else too, but
// logged louder by the worker pool's error sink.
kube::WorkResult retry(Error e) { return kube::WorkResult::retry(std::move(e)); }

}  // namespace

std::string text_at(const json& j, const json::json_pointer& p) {
  return j.contains(p) && j.at(p).is_string() ? j.at(p).get<std::string>() : std::string();
}

Result<CheckpointObject> parse_checkpoint_object(const json& object) {
  CheckpointObject o;
  o.ns = text_at(object, json::json_pointer("/metadata/namespace"));
  o.name = text_at(object, json::json_pointer("/metadata/name"));
  o.uid = text_at(object, json::json_pointer("/metadata/uid"));
  if (o.name.empty() || o.uid.empty()) {
    return Error(ErrorCode::kInvalidArgument, "a WorkspaceCheckpoint without metadata.name or metadata.uid");
  }
  const json::json_pointer generation("/metadata/generation");
  if (object.contains(generation) && object.at(generation).is_number_integer())
    o.generation = object.at(generation).get<std::int64_t>();
  o.deleting = object.contains(json::json_pointer("/metadata/deletionTimestamp"));
  const auto finalizers = finalizers_of(object);
  o.has_finalizer = std::find(finalizers.begin(), finalizers.end(), kCheckpointFinalizer) != finalizers.end();
  const std::string where = "WorkspaceCheckpoint " + o.ns + "/" + o.name + ": ";
  auto spec = kube::WorkspaceCheckpointSpec::from_json(object.value("spec", json::object()));
  if (!spec) return spec.error().wrap(where.substr(0, where.size() - 2));
  o.spec = std::move(*spec);
  if (object.contains("status")) {
    auto status = kube::WorkspaceCheckpointStatus::from_json(object.at("status"));
    if (!status) return status.error().wrap(where.substr(0, where.size() - 2));
    o.status = std::move(*status);
  }
  return o;
}

kube::WorkResult CheckpointReconciler::reconcile(const std::string& key) {
  const auto slash = key.find('/');
  if (slash == std::string::npos) return kube::WorkResult::terminal(Error(ErrorCode::kInternal, "bad key " + key));
  auto raw = deps_.kube.get(kube::resources::kWorkspaceCheckpoints, key.substr(0, slash), key.substr(slash + 1));
  if (!raw) {
    if (kube::is_not_found(raw.error())) return kube::WorkResult::done();  // deleted: nothing to do
    return retry(raw.error());
  }
  auto object = parse_checkpoint_object(*raw);
  if (!object) {
    // The API server validated it against the CRD; a newer CRD may allow
    // what this controller cannot read. Retrying cannot help.
    return kube::WorkResult::terminal(object.error());
  }
  Need need = what_to_read(*object);
  auto observed = observe(*object, need);
  if (!observed) return retry(observed.error());
  if (observed->agent_node) need.node = *observed->agent_node;
  const Action action = decide(*object, need, *observed, deps_.clock->wall_now(), deps_.machine);
  return act(*raw, *object, need, action);
}

Result<CheckpointReconciler::ReadOperation> CheckpointReconciler::read_operation(const std::string& node,
                                                                                const Need& need) {
  auto client = deps_.agents.client_for(node);
  if (!client) return client.error();
  // Attempts are started in order: the first id the agent does not know
  // ends the search.
  ReadOperation read;
  for (std::size_t attempt = 0; attempt < need.operation_ids.size(); ++attempt) {
    auto op = (*client)->get(need.operation_ids[attempt]);
    if (!op) {
      if (op.error().code() == ErrorCode::kNotFound) break;
      return op.error();
    }
    read.operation = std::move(*op);
    read.attempt = static_cast<int>(attempt);
  }
  return read;
}

Result<Observed> CheckpointReconciler::observe(const CheckpointObject& object, const Need& need) {
  Observed observed;
  switch (need.kind) {
    case Need::Kind::kNothing:
      break;
    case Need::Kind::kPlacement:
      observed.placement = deps_.placement.place(object);
      break;
    case Need::Kind::kPreflight: {
      auto client = deps_.agents.client_for(need.node);
      if (!client) return client.error();
      auto verdict = (*client)->preflight(PreflightQuery{object.status.workspace_id.value_or(""),
                                                         checkpoint_id_for(object), need.request.store});
      if (!verdict) return verdict.error();
      observed.preflight_refusal =
          verdict->can_restore() ? std::optional<std::string>() : std::optional<std::string>(verdict->refusal->message);
      break;
    }
    case Need::Kind::kOperation: {
      if (need.request.kind != agent::operations::Kind::kDelete) {
        // Every step of a move waits for its agent; the machine bounds the
        // release (the workspace runs on the destination by then) and the
        // resume of a deleted resource (a node that is gone never answers).
        auto read = read_operation(need.node, need);
        const bool bounded = need.request.kind == agent::operations::Kind::kRelease ||
                             (need.request.kind == agent::operations::Kind::kResume && object.deleting);
        if (!read && bounded) {
          observed.unreachable = read.error();
          break;
        }
        if (!read) return read.error();
        observed.operation = std::move(read->operation);
        observed.attempt = read->attempt;
        if (!need.checkpoint_operation_ids.empty()) {
          // Best effort: a source that does not answer leaves the restore to its follow timeout.
          Need checkpoint;
          checkpoint.operation_ids = need.checkpoint_operation_ids;
          if (auto c = read_operation(need.checkpoint_node, checkpoint); c && c->operation)
            observed.checkpoint = std::move(c->operation);
        }
        break;
      }
      // A deleted resource's archive waits for an agent a bounded time (the
      // machine decides how long). Any agent with the store can delete it:
      // when the node the workspace ran on does not answer, another is asked.
      std::vector<std::string> nodes{need.node};
      if (deps_.deletion_agents) {
        for (auto& n : deps_.deletion_agents())
          if (n != need.node) nodes.push_back(std::move(n));
      }
      for (const auto& node : nodes) {
        auto read = read_operation(node, need);
        if (!read) {
          if (!observed.unreachable) observed.unreachable = read.error();
          continue;
        }
        observed.unreachable.reset();
        observed.operation = std::move(read->operation);
        observed.attempt = read->attempt;
        if (node != need.node) observed.agent_node = node;
        break;
      }
      break;
    }
  }
  return observed;
}

kube::WorkResult CheckpointReconciler::act(const json& raw, const CheckpointObject& object, const Need& need,
                                           const Action& action) {
  using Kind = Action::Kind;
  switch (action.kind) {
    case Kind::kNothing:
      return kube::WorkResult::done();
    case Kind::kWait:
      return kube::WorkResult::requeue_after(action.after);
    case Kind::kDelete: {
      kube::DeleteOptions options;
      options.precondition_uid = object.uid;  // this incarnation only
      auto removed = deps_.kube.remove(kube::resources::kWorkspaceCheckpoints, object.ns, object.name, options);
      if (!removed && !kube::is_not_found(removed.error())) return retry(removed.error());
      deps_.logger->info("deleted after its TTL", {{"object", object.ns + "/" + object.name}});
      return kube::WorkResult::requeue_after({});
    }
    case Kind::kAddFinalizer:
    case Kind::kRemoveFinalizer: {
      if (auto st = set_finalizer(raw, action.kind == Kind::kAddFinalizer); !st) return retry(st.error());
      return action.kind == Kind::kAddFinalizer ? kube::WorkResult::requeue_after({}) : kube::WorkResult::done();
    }
    case Kind::kWriteStatus: {
      json updated = raw;
      updated["status"] = action.status.to_json();
      auto written = deps_.kube.update_status(kube::resources::kWorkspaceCheckpoints, updated,
                                              kube::WriteOptions{{}, deps_.field_manager, false});
      if (!written) return retry(written.error());
      if (action.note) tell(raw, *action.note, "Reconcile");
      count_finished(object, action.status);
      deps_.logger->info("status written", {{"object", object.ns + "/" + object.name},
                                            {"phase", std::string(to_string(action.status.phase.value_or(
                                                          kube::CheckpointPhase::kPending)))},
                                            {"message", action.status.message}});
      return kube::WorkResult::requeue_after({});
    }
    case Kind::kStartOperation: {
      auto client = deps_.agents.client_for(need.node);
      if (!client) return retry(client.error());
      auto started = (*client)->start(action.operation_id, action.request);
      if (!started) return retry(started.error());
      if (started->created && action.note) tell(raw, *action.note, "Start");
      deps_.logger->info("operation started", {{"object", object.ns + "/" + object.name},
                                               {"node", need.node},
                                               {"op", action.operation_id},
                                               {"created", started->created}});
      return kube::WorkResult::requeue_after(kPollInterval);
    }
    case Kind::kCancelOperation: {
      auto client = deps_.agents.client_for(need.node);
      if (!client) return retry(client.error());
      auto cancelled = (*client)->cancel(action.operation_id);
      if (!cancelled && cancelled.error().code() != ErrorCode::kConflict) return retry(cancelled.error());
      if (action.note) tell(raw, *action.note, "Cancel");
      deps_.logger->info("operation cancelled", {{"object", object.ns + "/" + object.name},
                                                 {"node", need.node},
                                                 {"op", action.operation_id}});
      return kube::WorkResult::requeue_after(kPollInterval);
    }
  }
  return kube::WorkResult::done();
}

Status CheckpointReconciler::set_finalizer(const json& raw, bool present) {
  auto finalizers = finalizers_of(raw);
  const std::string mine(kCheckpointFinalizer);
  finalizers.erase(std::remove(finalizers.begin(), finalizers.end(), mine), finalizers.end());
  if (present) finalizers.push_back(mine);
  // The resourceVersion makes the patch conditional: another writer's
  // finalizers are never dropped by a list read before its change.
  json patch = {{"metadata",
                 {{"finalizers", finalizers},
                  {"resourceVersion", text_at(raw, json::json_pointer("/metadata/resourceVersion"))}}}};
  kube::PatchOptions options;
  options.field_manager = deps_.field_manager;
  auto r = deps_.kube.patch(kube::resources::kWorkspaceCheckpoints, text_at(raw, json::json_pointer("/metadata/namespace")),
                            text_at(raw, json::json_pointer("/metadata/name")), patch, options);
  if (!r && !(kube::is_not_found(r.error()) && !present)) return r.error();
  return Ok{};
}

void CheckpointReconciler::count_finished(const CheckpointObject& before,
                                          const kube::WorkspaceCheckpointStatus& after) {
  if (!deps_.metrics || before.status.finished_at || !after.finished_at || !after.phase) return;
  std::optional<std::chrono::duration<double>> took;
  for (const auto& t : after.timings) {
    if (t.step == kube::CheckpointStep::kPlan) took = *after.finished_at - t.started_at;
  }
  deps_.metrics->migration_finished(before.spec.reason, *after.phase, took);
  if (after.deadline) deps_.metrics->deadline(after.deadline->met);
}

void CheckpointReconciler::tell(const json& raw, const Note& note, std::string_view action) {
  auto st = deps_.events.record(kube::ObjectReference::of(kube::resources::kWorkspaceCheckpoints, raw),
                                note.warning ? kube::EventType::kWarning : kube::EventType::kNormal, note.reason,
                                action, note.message);
  if (!st) deps_.logger->warning("event not recorded", {{"reason", note.reason}, {"error", st.error().describe()}});
}

}  // namespace wscp::controller
