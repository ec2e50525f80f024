#include "controller/placement.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <utility>

#include "kube/json_type_name.h"

namespace wscp::controller {

using nlohmann::json;

// ---- parse_node ----

namespace {

std::string type_name(const json& j) { return std::string(kube::json_type_name(j)); }

// Kubernetes object names are at most 253 characters (DNS subdomain).
constexpr std::size_t kMaxNodeName = 253;

class NodeReader {
 public:
  explicit NodeReader(const json& node) : node_(node) {}

  Result<NodeView> read() {
    if (!node_.is_object()) return Error(ErrorCode::kInvalidArgument, "Node: must be an object, not " + type_name(node_));
    if (auto kind = node_.find("kind"); kind != node_.end() && !kind->is_null() && *kind != "Node") {
      return Error(ErrorCode::kInvalidArgument, "Node: kind is " + kind->dump() + ", not \"Node\"");
    }
    const json* metadata = object(node_, "metadata", true);
    if (failed()) return *error_;
    read_name(*metadata);
    if (failed()) return *error_;
    read_labels(*metadata);
    if (const json* spec = object(node_, "spec")) read_spec(*spec);
    if (const json* status = object(node_, "status")) read_status(*status);
    if (failed()) return *error_;
    return std::move(view_);
  }

 private:
  bool failed() const { return error_.has_value(); }

  void fail(const std::string& path, const std::string& why) {
    if (failed()) return;
    const std::string who = view_.name.empty() ? "Node" : "node " + view_.name;
    error_ = Error(ErrorCode::kInvalidArgument, who + ": " + path + ": " + why);
  }

  // parent[key] when it is an object; nullptr when absent or null (and an
  // error when required, or of another type).
  const json* object(const json& parent, const std::string& key, bool required = false, std::string path = "") {
    if (failed()) return nullptr;
    if (path.empty()) path = key;
    auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) {
      if (required) fail(path, "is required");
      return nullptr;
    }
    if (!it->is_object()) {
      fail(path, "must be an object, not " + type_name(*it));
      return nullptr;
    }
    return &*it;
  }

  const json* list(const json& parent, const std::string& key, const std::string& path) {
    if (failed()) return nullptr;
    auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return nullptr;
    if (!it->is_array()) {
      fail(path, "must be a list, not " + type_name(*it));
      return nullptr;
    }
    return &*it;
  }

  std::optional<std::string> string(const json& parent, const std::string& key, const std::string& path,
                                    bool required) {
    if (failed()) return std::nullopt;
    auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) {
      if (required) fail(path, "is required");
      return std::nullopt;
    }
    if (!it->is_string()) {
      fail(path, "must be a string, not " + type_name(*it));
      return std::nullopt;
    }
    return it->get<std::string>();
  }

  void read_name(const json& metadata) {
    auto name = string(metadata, "name", "metadata.name", true);
    if (!name) return;
    if (name->empty()) return fail("metadata.name", "must not be empty");
    if (name->size() > kMaxNodeName) {
      return fail("metadata.name", "has " + std::to_string(name->size()) + " characters; at most " +
                                       std::to_string(kMaxNodeName) + " are allowed");
    }
    view_.name = std::move(*name);
  }

  void read_labels(const json& metadata) {
    const json* labels = object(metadata, "labels", false, "metadata.labels");
    if (labels == nullptr) return;
    for (auto it = labels->begin(); it != labels->end(); ++it) {
      if (!it->is_string()) return fail("metadata.labels." + it.key(), "must be a string, not " + type_name(*it));
      view_.labels.emplace(it.key(), it->get<std::string>());
    }
  }

  void read_spec(const json& spec) {
    if (auto it = spec.find("unschedulable"); it != spec.end() && !it->is_null()) {
      if (!it->is_boolean()) return fail("spec.unschedulable", "must be true or false, not " + type_name(*it));
      view_.unschedulable = it->get<bool>();
    }
    const json* taints = list(spec, "taints", "spec.taints");
    if (taints == nullptr) return;
    for (std::size_t i = 0; i < taints->size() && !failed(); ++i) {
      read_taint((*taints)[i], "spec.taints[" + std::to_string(i) + "]");
    }
  }

  void read_taint(const json& entry, const std::string& path) {
    if (!entry.is_object()) return fail(path, "must be an object, not " + type_name(entry));
    Taint taint;
    auto key = string(entry, "key", path + ".key", true);
    auto value = string(entry, "value", path + ".value", false);
    auto effect = string(entry, "effect", path + ".effect", true);
    if (failed()) return;
    if (key->empty()) return fail(path + ".key", "must not be empty");
    taint.key = std::move(*key);
    taint.value = value.value_or("");
    if (*effect == "NoSchedule") taint.effect = TaintEffect::kNoSchedule;
    else if (*effect == "PreferNoSchedule") taint.effect = TaintEffect::kPreferNoSchedule;
    else if (*effect == "NoExecute") taint.effect = TaintEffect::kNoExecute;
    else return fail(path + ".effect", "'" + *effect + "' is not one of NoSchedule, PreferNoSchedule, NoExecute");
    view_.taints.push_back(std::move(taint));
  }

  void read_status(const json& status) {
    const json* conditions = list(status, "conditions", "status.conditions");
    if (conditions == nullptr) return;
    for (std::size_t i = 0; i < conditions->size() && !failed(); ++i) {
      const json& entry = (*conditions)[i];
      const std::string path = "status.conditions[" + std::to_string(i) + "]";
      if (!entry.is_object()) return fail(path, "must be an object, not " + type_name(entry));
      auto type = string(entry, "type", path + ".type", true);
      if (!type || *type != "Ready") continue;
      auto text = string(entry, "status", path + ".status", true);
      if (!text) return;
      auto status_value = kube::parse_condition_status(*text);
      if (!status_value) return fail(path + ".status", status_value.error().message());
      view_.ready = *status_value;
    }
  }

  const json& node_;
  NodeView view_;
  std::optional<Error> error_;
};

}  // namespace

std::string_view to_string(TaintEffect effect) {
  switch (effect) {
    case TaintEffect::kNoSchedule: return "NoSchedule";
    case TaintEffect::kPreferNoSchedule: return "PreferNoSchedule";
    case TaintEffect::kNoExecute: return "NoExecute";
  }
  return "?";
}

Result<NodeView> parse_node(const json& node) { return NodeReader(node).read(); }

// ---- human_bytes ----

namespace {

std::string bytes_text(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  std::size_t unit = 0;
  while (bytes >= 1024 && unit + 1 < std::size(kUnits)) {
    bytes /= 1024;
    ++unit;
  }
  // One decimal (".0" dropped); 1023.96 MiB reads 1 GiB, not 1024 MiB.
  double rounded = std::round(bytes * 10) / 10;
  if (rounded >= 1024 && unit + 1 < std::size(kUnits)) {
    rounded = 1;
    ++unit;
  }
  char buf[48];
  if (unit == 0 || rounded == std::floor(rounded)) std::snprintf(buf, sizeof buf, "%.0f %s", rounded, kUnits[unit]);
  else std::snprintf(buf, sizeof buf, "%.1f %s", rounded, kUnits[unit]);
  return buf;
}

}  // namespace

std::string human_bytes(std::uint64_t bytes) { return bytes_text(static_cast<double>(bytes)); }

// ---- termination ----

std::vector<std::string> default_termination_taint_keys() {
  return {
      "aws-node-termination-handler/spot-itn",
      "karpenter.sh/disrupted",
      "cloud.google.com/impending-node-termination",
      // The Cluster Autoscaler sets it on a node it will delete once drained:
      // the node's end is decided, just as with a spot notice, and the drain
      // would stop the workspaces without a checkpoint.
      "ToBeDeletedByClusterAutoscaler",
  };
}

const Taint* termination_taint(const NodeView& node, const std::vector<std::string>& keys) {
  for (const Taint& taint : node.taints) {
    if (std::find(keys.begin(), keys.end(), taint.key) != keys.end()) return &taint;
  }
  return nullptr;
}

bool tainted_for_termination(const NodeView& node, const std::vector<std::string>& keys) {
  return termination_taint(node, keys) != nullptr;
}

std::optional<Evacuation> evacuation_for(const NodeView& node, const std::vector<std::string>& termination_taint_keys,
                                         bool drain_cordoned) {
  if (const Taint* taint = termination_taint(node, termination_taint_keys)) {
    // Every termination taint reads as SpotInterruption: the node goes away
    // on someone else's schedule, as with a spot notice.
    return Evacuation{kube::CheckpointReason::kSpotInterruption, "tainted for termination (" + taint->key + ")"};
  }
  if (drain_cordoned && node.unschedulable) {
    return Evacuation{kube::CheckpointReason::kDrain, "cordoned (spec.unschedulable)"};
  }
  return std::nullopt;
}

// ---- choose_destination ----

namespace {

bool contains(const std::vector<std::string>& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

std::string taint_text(const Taint& taint) {
  return taint.key + (taint.value.empty() ? "" : "=" + taint.value) + ":" + std::string(to_string(taint.effect));
}

std::string headroom_text(std::uint64_t bytes, double headroom) {
  const long percent = std::lround((headroom - 1) * 100);
  if (percent <= 0) return "";
  return " (" + human_bytes(bytes) + " + " + std::to_string(percent) + "% headroom)";
}

// The first label the selector wants and the node lacks, as a reason.
std::optional<std::string> selector_mismatch(const NodeView& node, const std::map<std::string, std::string>& selector) {
  for (const auto& [key, wanted] : selector) {
    auto it = node.labels.find(key);
    if (it == node.labels.end()) return "no label " + key + ", nodeSelector wants '" + wanted + "'";
    if (it->second != wanted) return "label " + key + " is '" + it->second + "', nodeSelector wants '" + wanted + "'";
  }
  return std::nullopt;
}

// bytes × headroom in whole bytes; long double holds every 64-bit figure
// exactly, so 5 GiB × 1.2 is exactly 6 GiB, not a byte more.
long double with_headroom(std::uint64_t bytes, double headroom) {
  return std::round(static_cast<long double>(bytes) * headroom);
}

std::optional<std::uint64_t> largest_disk_free(const AgentCapacity& capacity) {
  std::optional<std::uint64_t> largest;
  for (const auto& entry : capacity.disk_free_bytes) largest = std::max(largest.value_or(0), entry.second);
  return largest;
}

}  // namespace

std::optional<NodeRefusal> refusal_for(const NodeView& node, const AgentState* agent, const PlacementRequest& request,
                                       const PlacementPolicy& policy) {
  auto refuse = [&](Ineligibility why, std::string reason) {
    return std::optional<NodeRefusal>(NodeRefusal{node.name, why, std::move(reason)});
  };
  if (node.name == request.source_node) return refuse(Ineligibility::kSourceNode, "the workspace runs there");
  if (auto mismatch = selector_mismatch(node, request.destination.node_selector)) {
    return refuse(Ineligibility::kSelectorMismatch, *mismatch);
  }
  if (node.ready != kube::ConditionStatus::kTrue) {
    return refuse(Ineligibility::kNodeNotReady, "node not Ready (Ready=" + std::string(kube::to_string(node.ready)) + ")");
  }
  if (const Taint* taint = termination_taint(node, policy.termination_taint_keys)) {
    return refuse(Ineligibility::kTerminationTaint, "tainted for termination (" + taint->key + ")");
  }
  if (agent != nullptr && agent->termination_notice) {
    return refuse(Ineligibility::kTerminationNotice, "agent reports a termination notice");
  }
  if (node.unschedulable) return refuse(Ineligibility::kUnschedulable, "cordoned (spec.unschedulable)");
  for (const Taint& taint : node.taints) {
    if (taint.effect == TaintEffect::kPreferNoSchedule || contains(policy.tolerated_taint_keys, taint.key)) continue;
    return refuse(Ineligibility::kTaint, "tainted " + taint_text(taint));
  }
  if (agent == nullptr) return refuse(Ineligibility::kNoAgent, "no agent");
  if (!agent->live) return refuse(Ineligibility::kAgentNotLive, "agent not live (its Lease has expired)");
  if (!agent->ready) return refuse(Ineligibility::kAgentNotReady, "agent not ready");

  const WorkspaceNeeds& needs = request.needs;
  const AgentCapacity& capacity = agent->capacity;
  if (needs.memory_bytes && capacity.memory_available_bytes) {
    const long double wanted = with_headroom(*needs.memory_bytes, policy.headroom);
    if (static_cast<long double>(*capacity.memory_available_bytes) < wanted) {
      return refuse(Ineligibility::kInsufficientMemory,
                    human_bytes(*capacity.memory_available_bytes) + " memory free, workspace needs " +
                        bytes_text(static_cast<double>(wanted)) + headroom_text(*needs.memory_bytes, policy.headroom));
    }
  }
  const auto disk_free = largest_disk_free(capacity);
  if (needs.archive_bytes && disk_free) {
    const long double wanted = with_headroom(*needs.archive_bytes, policy.headroom);
    if (static_cast<long double>(*disk_free) < wanted) {
      return refuse(Ineligibility::kInsufficientDisk,
                    human_bytes(*disk_free) + " disk free, checkpoint needs " + bytes_text(static_cast<double>(wanted)) +
                        headroom_text(*needs.archive_bytes, policy.headroom));
    }
  }
  return std::nullopt;
}

PlacementDecision choose_destination(const PlacementRequest& request, const PlacementPolicy& policy) {
  PlacementDecision decision;
  std::vector<std::pair<const NodeView*, const AgentState*>> eligible;

  const std::optional<std::string>& named = request.destination.node;
  bool named_found = false;
  for (const NodeView& node : request.nodes) {
    if (named && node.name != *named) continue;
    named_found = true;
    auto agent_it = request.agents.find(node.name);
    const AgentState* agent = agent_it == request.agents.end() ? nullptr : &agent_it->second;
    if (auto refusal = refusal_for(node, agent, request, policy)) {
      decision.refusals.push_back(std::move(*refusal));
    } else {
      eligible.emplace_back(&node, agent);
    }
  }
  if (named && !named_found) {
    decision.refusals.push_back(NodeRefusal{*named, Ineligibility::kNoSuchNode, "no such node"});
  }
  std::sort(decision.refusals.begin(), decision.refusals.end(),
            [](const NodeRefusal& a, const NodeRefusal& b) { return a.node < b.node; });

  // Most free memory first, then the fewest workspaces (an unknown figure
  // after every known one), then the name: the same inputs give the same
  // node.
  auto better = [](const std::pair<const NodeView*, const AgentState*>& a,
                   const std::pair<const NodeView*, const AgentState*>& b) {
    const auto& ca = a.second->capacity;
    const auto& cb = b.second->capacity;
    if (ca.memory_available_bytes.has_value() != cb.memory_available_bytes.has_value()) {
      return ca.memory_available_bytes.has_value();
    }
    if (ca.memory_available_bytes != cb.memory_available_bytes) {
      return *ca.memory_available_bytes > *cb.memory_available_bytes;
    }
    if (ca.workspaces_running.has_value() != cb.workspaces_running.has_value()) {
      return ca.workspaces_running.has_value();
    }
    if (ca.workspaces_running != cb.workspaces_running) return *ca.workspaces_running < *cb.workspaces_running;
    return a.first->name < b.first->name;
  };
  if (!eligible.empty()) decision.node = std::min_element(eligible.begin(), eligible.end(), better)->first->name;
  return decision;
}

std::string PlacementDecision::message(std::size_t max_listed) const {
  if (node) return "destination " + *node;
  if (refusals.empty()) return "no destination: no nodes";
  // The nodes a rule ruled out say more than those the selector left out.
  std::vector<const NodeRefusal*> ordered;
  for (const auto& r : refusals) {
    if (r.why != Ineligibility::kSelectorMismatch) ordered.push_back(&r);
  }
  for (const auto& r : refusals) {
    if (r.why == Ineligibility::kSelectorMismatch) ordered.push_back(&r);
  }
  std::string text = "no destination: ";
  const std::size_t listed = std::min(max_listed, ordered.size());
  for (std::size_t i = 0; i < listed; ++i) {
    if (i > 0) text += "; ";
    text += ordered[i]->node + ": " + ordered[i]->reason;
  }
  if (listed < ordered.size()) text += (listed > 0 ? "; and " : "") + std::to_string(ordered.size() - listed) + " more";
  return text;
}

// ---- deadlines ----

std::string_view to_string(DeadlineCheck check) {
  switch (check) {
    case DeadlineCheck::kMet: return "Met";
    case DeadlineCheck::kAtRisk: return "AtRisk";
    case DeadlineCheck::kMissed: return "Missed";
  }
  return "?";
}

DeadlineCheck deadline_reachable(Time now, std::optional<Time> deadline, std::chrono::milliseconds estimated) {
  if (!deadline) return DeadlineCheck::kMet;
  const auto remaining = std::max(estimated, std::chrono::milliseconds::zero());
  if (now + remaining <= *deadline) return DeadlineCheck::kMet;
  if (now < *deadline) return DeadlineCheck::kAtRisk;
  return DeadlineCheck::kMissed;
}

}  // namespace wscp::controller
