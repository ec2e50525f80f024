#pragma once

// Empties a node that is going away: when a Node carries a termination
// taint (or is cordoned, with draining on), its agent's workspaces each get
// a WorkspaceCheckpoint (evacuation_plan.h), which the checkpoint
// reconciler then moves like any other.

#include <memory>
#include <string>
#include <vector>

#include "controller/agent_client_factory.h"
#include "controller/agent_directory.h"
#include "controller/evacuation_plan.h"
#include "kube/event_recorder.h"
#include "kube/kube_client.h"
#include "kube/worker_pool.h"
#include "log/logger.h"

namespace wscp::controller {

struct EvacuatorOptions {
  std::vector<std::string> termination_taint_keys = default_termination_taint_keys();
  bool drain_cordoned = false;
  TenancyPolicy tenancy;
  std::string store;  // "": the agents' only store
  // While a node is being emptied it is looked at again this often, for
  // workspaces started since.
  std::chrono::milliseconds recheck{30'000};
};

class NodeEvacuator {
 public:
  NodeEvacuator(kube::KubeClient& kube, AgentDirectory& agents, AgentClientFactory& clients,
                kube::EventRecorder& events, std::shared_ptr<log::Logger> logger, EvacuatorOptions options);
  kube::WorkResult reconcile(const std::string& node);

 private:
  kube::KubeClient& kube_;
  AgentDirectory& agents_;
  AgentClientFactory& clients_;
  kube::EventRecorder& events_;
  std::shared_ptr<log::Logger> logger_;
  EvacuatorOptions options_;
};

}  // namespace wscp::controller
