#include "controller/node_evacuator.h"

#include "kube/api_error.h"
#include "kube/resource.h"

namespace wscp::controller {

NodeEvacuator::NodeEvacuator(kube::KubeClient& kube, AgentDirectory& agents, AgentClientFactory& clients,
                             kube::EventRecorder& events, std::shared_ptr<log::Logger> logger,
                             EvacuatorOptions options)
    : kube_(kube),
      agents_(agents),
      clients_(clients),
      events_(events),
      logger_(std::move(logger)),
      options_(std::move(options)) {}

kube::WorkResult NodeEvacuator::reconcile(const std::string& node_name) {
  auto raw = kube_.get(kube::resources::kNodes, "", node_name);
  if (!raw) {
    if (kube::is_not_found(raw.error())) return kube::WorkResult::done();
    return kube::WorkResult::retry(raw.error());
  }
  auto node = parse_node(*raw);
  if (!node) return kube::WorkResult::terminal(node.error());
  auto agent = agents_.find(node_name);
  auto why = evacuation_for(*node, options_.termination_taint_keys, options_.drain_cordoned);
  if (!why && agent) why = evacuation_for_notice(agent->termination_notice, std::chrono::system_clock::now());
  if (!why) return kube::WorkResult::done();
  if (!agent) return kube::WorkResult::retry(agent.error().wrap("evacuating node " + node_name));
  auto client = clients_.client_for(node_name);
  if (!client) return kube::WorkResult::retry(client.error());
  auto listed = (*client)->list_workspaces();
  if (!listed) return kube::WorkResult::retry(listed.error().wrap("evacuating node " + node_name));

  EvacuationInput input;
  input.node = node_name;
  input.node_uid = raw->at("metadata").value("uid", "");
  input.why = *why;
  input.workspaces = listed->workspaces;
  if (agent->termination_notice && agent->termination_notice->kind != "rebalance")
    input.deadline = agent->termination_notice->deadline;
  input.store = options_.store;
  input.agent_evacuation = agent->evacuation;
  const auto plan = plan_evacuation(input, options_.tenancy);

  const auto node_ref = kube::ObjectReference::of(kube::resources::kNodes, *raw);
  std::optional<Error> failed;
  std::size_t created = 0;
  for (const auto& object : plan.create) {
    kube::WriteOptions options;
    options.field_manager = "wscp-controller";
    auto r = kube_.create(kube::resources::kWorkspaceCheckpoints, object, options);
    if (r) {
      ++created;
      logger_->info("evacuation created", {{"node", node_name},
                                           {"object", object["metadata"]["namespace"].get<std::string>() + "/" +
                                                          object["metadata"]["name"].get<std::string>()},
                                           {"reason", why->detail}});
    } else if (!kube::is_already_exists(r.error())) {
      failed = r.error();
    }
  }
  if (created > 0) {
    (void)events_.record(node_ref, kube::EventType::kNormal, "Evacuating", "Evacuate",
                         "moving " + std::to_string(created) + " workspace(s) off the node: " + why->detail);
  }
  for (const auto& skipped : plan.skipped) {
    (void)events_.record(node_ref, kube::EventType::kWarning, "EvacuationSkipped", "Evacuate",
                         "not moved off the node: " + skipped);
  }
  if (failed) return kube::WorkResult::retry(failed->wrap("evacuating node " + node_name));
  return kube::WorkResult::requeue_after(options_.recheck);
}

}  // namespace wscp::controller
