#pragma once

#include <CLI/CLI.hpp>

namespace wscp::agent {

// Each one-shot verb adds its subcommand to the app and runs when chosen.
void add_migrate_command(CLI::App& app);
void add_capabilities_command(CLI::App& app);
// The checkpoints kept in a store.
void add_list_command(CLI::App& app);
// plan, preflight, checkpoint, restore, release, resume: one node each.
void add_phase_commands(CLI::App& app);
// serve: the node daemon (agent/daemon/serve_command.cc).
void add_serve_command(CLI::App& app);

}  // namespace wscp::agent
