// wscp-agent: the per-node agent. Checkpoints and restores the node's
// workspaces through Podman and moves their archives through a store.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "agent/cli/commands.h"
#include "common/large_buffers.h"
#include "common/version.h"

int main(int argc, char** argv) {
  wscp::return_large_buffers_to_the_system();
  CLI::App app{"wscp-agent: checkpoint, ship and restore live Podman workspaces on this node"};
  app.set_version_flag("--version", std::string("wscp-agent ") + wscp::kVersion);
  app.require_subcommand(1);
  wscp::agent::add_migrate_command(app);
  wscp::agent::add_capabilities_command(app);
  wscp::agent::add_phase_commands(app);
  wscp::agent::add_list_command(app);
  wscp::agent::add_serve_command(app);
  try {
    CLI11_PARSE(app, argc, argv);
  } catch (const std::exception& e) {
    // A bug, not an expected failure: say so rather than abort silently.
    std::cerr << "wscp-agent: internal error: " << e.what() << "\n";
    return 70;
  }
  return 0;
}
