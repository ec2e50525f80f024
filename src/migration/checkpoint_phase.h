#pragma once

#include <chrono>
#include <vector>

#include "migration/node_services.h"
#include "migration/plan.h"
#include "store/manifest.h"

namespace wscp::migration {

struct Sealed {
  store::Manifest manifest;
  std::vector<podman::CheckpointResult> dumps;  // in plan order
  std::vector<std::string> images_stored;       // ids stored by this checkpoint
  std::chrono::milliseconds duration{0};
};

// Source: stores each image the store lacks (before anything is frozen: an
// image does not change while the workspace runs), then dumps every
// container with keep=true into the store, and seals the checkpoint with
// its manifest, which binds the plan. Journalled step by step. Before the
// seal a failure brings the workspace back on the source by itself (it takes
// the resume claim first, so nothing can restore what it abandons) and the
// error says whether it runs again. Repeating a sealed checkpoint returns it.
Result<Sealed> checkpoint_workspace(NodeServices& node, const Plan& plan, const OperationContext& ctx);

// Reads the sealed manifest and checks that it binds this plan.
Result<store::Manifest> read_sealed(NodeServices& node, const Plan& plan);

}  // namespace wscp::migration
