// `wscp-agent capabilities`: what this node's Podman can do.
#include <iostream>

#include "agent/cli/commands.h"
#include "agent/cli/output.h"
#include "podman/engine.h"
#include "podman/libpod_client.h"

namespace wscp::agent {

void add_capabilities_command(CLI::App& app) {
  auto socket = std::make_shared<std::string>("/run/podman/podman.sock");
  auto* cmd = app.add_subcommand("capabilities", "Show whether this node's Podman can checkpoint and restore");
  cmd->add_option("--socket", *socket, "Podman socket")->capture_default_str();
  cmd->callback([socket] {
    auto client = podman::make_libpod_client(*socket);
    podman::Engine engine(*client, {});
    auto caps = engine.capabilities();
    if (!caps.ok()) throw CLI::RuntimeError(report_error(caps.error()));
    std::cout << "podman " << caps->host.podman_version << " (API " << caps->host.api_version << "), runtime "
              << caps->host.oci_runtime << "\n"
              << "checkpoint/restore: " << (caps->checkpoint ? "yes" : "no: " + caps->why_not) << "\n"
              << "pre-copy (soft-dirty tracking): " << (caps->pre_checkpoint ? "yes" : "no") << "\n";
    throw CLI::RuntimeError(caps->checkpoint ? kExitOk : kExitFailed);
  });
}

}  // namespace wscp::agent
