#pragma once

// wscp-controller's process: informers on WorkspaceCheckpoints, Nodes and
// the agents' Leases, leader election, and the reconcile workers of the
// leader.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/operation.h"
#include "common/result.h"
#include "controller/placement_reader.h"
#include "log/stream_logger.h"

namespace wscp::controller {

struct ControllerOptions {
  std::string kubeconfig;                       // "": in the cluster, $KUBECONFIG or ~/.kube/config
  std::string agents_namespace = "wscp-system";  // where the agents' Leases are
  std::string leader_election_namespace;         // "": agents_namespace
  std::string leader_election_lease = "wscp-controller";
  std::string identity;                          // unique per replica ("": host name and pid)
  std::string client_cert;                       // mTLS to the agents
  std::string client_key;
  std::size_t workers = 4;
  TenancyPolicy tenancy;
  // Termination: which taints announce a node's end, whether cordoned
  // nodes are drained too, and the store evacuations use.
  std::vector<std::string> termination_taint_keys = default_termination_taint_keys();
  bool drain_cordoned = false;
  std::string evacuation_store;
  // Restore while the checkpoint is written (MachineOptions::cut_through).
  bool cut_through = true;
  // Keep-last-N finished resources per workspace and namespace (0: all).
  std::size_t keep_last = 0;
  std::string metrics_address = "0.0.0.0";
  std::uint16_t metrics_port = 9465;  // 0: no metrics endpoint
  log::Format log_format = log::Format::kText;
  log::Level log_level = log::Level::kInfo;
};

Status validate(const ControllerOptions& options);

// Runs until `stop` is cancelled (Ok) or the leadership is lost (an error:
// the process exits and is restarted, so no two replicas ever act at once).
Status run_controller(const ControllerOptions& options, const CancelToken& stop);

}  // namespace wscp::controller
