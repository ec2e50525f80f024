// wscp-controller: watches WorkspaceCheckpoint resources and dispatches
// checkpoint and restore work to the node agents.
#include <CLI/CLI.hpp>
#include <iostream>

#include "common/version.h"

int main(int argc, char** argv) {
  CLI::App app{"wscp-controller: move live workspaces between Kubernetes nodes"};
  app.set_version_flag("--version", std::string("wscp-controller ") + wscp::kVersion);
  CLI11_PARSE(app, argc, argv);
  std::cout << app.help();
  return 0;
}
