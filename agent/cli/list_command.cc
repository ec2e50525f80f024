// `wscp-agent list`: the checkpoints kept in a store, per workspace, with
// whether each is sealed and what its claim says (restored, resumed ...).
#include <iomanip>
#include <set>

#include <nlohmann/json.hpp>

#include "agent/cli/commands.h"
#include "agent/cli/output.h"
#include "agent/cli/store_options.h"
#include "migration/claim.h"
#include "migration/object_documents.h"
#include "store/layout.h"

namespace wscp::agent {
namespace {

struct ListArgs {
  StoreArgs store;
  std::string workspace;
  bool json = false;
};

struct Row {
  std::string workspace;
  store::CheckpointListing listing;
  std::string claim;       // state, or "unknown"
  std::string claim_node;  // who took its last step
  std::string claim_error;
};

// The workspaces that have checkpoints: workspaces/<ws>/checkpoints/...
Result<std::vector<std::string>> workspaces_in(store::ObjectStore& objects) {
  const std::string root = "workspaces/";
  auto listed = objects.list(root);
  if (!listed) return listed.error();
  std::set<std::string> names;
  for (const auto& o : *listed) {
    const std::string rest = o.key.substr(root.size());
    const auto slash = rest.find('/');
    if (slash == std::string::npos || rest.compare(slash + 1, 12, "checkpoints/") != 0) continue;
    names.insert(rest.substr(0, slash));
  }
  return std::vector<std::string>(names.begin(), names.end());
}

int run(const ListArgs& a) {
  auto objects = a.store.open_store();
  if (!objects) return report_error(objects.error());
  auto options = a.store.store_options();
  if (!options) return report_error(options.error());
  store::CheckpointStore checkpoints(**objects, *options);
  migration::ObjectDocuments documents(**objects);
  const store::Keyring keys = options->mac_keys();

  std::vector<std::string> workspaces;
  if (!a.workspace.empty()) {
    if (auto st = store::validate_name(a.workspace, "--workspace"); !st) return report_error(st.error());
    workspaces.push_back(a.workspace);
  } else {
    auto found = workspaces_in(**objects);
    if (!found) return report_error(found.error().wrap("listing " + (*objects)->describe()));
    workspaces = std::move(*found);
  }

  std::vector<Row> rows;
  for (const auto& ws : workspaces) {
    auto listed = checkpoints.list_checkpoints(ws);
    if (!listed) return report_error(listed.error().wrap("listing the checkpoints of workspace " + ws));
    for (auto& l : *listed) {
      Row row{ws, std::move(l), "unknown", "", ""};
      auto claim = migration::ClaimLog(documents, keys, ws, row.listing.checkpoint_id).current();
      if (claim) {
        row.claim = std::string(migration::to_string(claim->state));
        row.claim_node = claim->node;
      } else {
        row.claim_error = claim.error().describe();
      }
      rows.push_back(std::move(row));
    }
  }

  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows) {
      nlohmann::json j{{"workspace", r.workspace},
                       {"checkpoint", r.listing.checkpoint_id},
                       {"sealed", r.listing.complete},
                       {"claim", r.claim},
                       {"claimNode", r.claim_node},
                       {"storedBytes", r.listing.stored_bytes},
                       {"objects", r.listing.objects}};
      if (!r.claim_error.empty()) j["claimError"] = r.claim_error;
      out.push_back(std::move(j));
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (rows.empty()) {
    std::cout << "no checkpoints in " << (*objects)->describe()
              << (a.workspace.empty() ? "" : " for workspace " + a.workspace) << "\n";
    return kExitOk;
  }
  std::cout << std::left << std::setw(24) << "WORKSPACE" << " " << std::setw(32) << "CHECKPOINT" << " "
            << std::setw(7) << "SEALED" << " " << std::setw(24) << "CLAIM" << " " << std::right << std::setw(14)
            << "BYTES" << " " << std::setw(7) << "OBJECTS" << "\n";
  for (const auto& r : rows) {
    const std::string claim = r.claim + (r.claim_node.empty() ? "" : " (" + r.claim_node + ")");
    std::cout << std::left << std::setw(24) << r.workspace << " " << std::setw(32) << r.listing.checkpoint_id << " "
              << std::setw(7) << (r.listing.complete ? "yes" : "no") << " " << std::setw(24) << claim << " "
              << std::right << std::setw(14) << r.listing.stored_bytes << " " << std::setw(7) << r.listing.objects
              << "\n";
  }
  for (const auto& r : rows) {
    if (!r.claim_error.empty()) {
      std::cerr << "wscp-agent: claim of checkpoint " << r.listing.checkpoint_id << " unreadable: " << r.claim_error
                << "\n";
    }
  }
  return kExitOk;
}

}  // namespace

void add_list_command(CLI::App& app) {
  auto args = std::make_shared<ListArgs>();
  auto* cmd = app.add_subcommand("list", "List the checkpoints kept in a store");
  cmd->footer(
      "SEALED: the manifest is written (the checkpoint can be restored). CLAIM: none (sealed or not, not yet "
      "restored or resumed), restoring/restored (on the node named), resuming/resumed (back on its source), "
      "abandoned (a failed restore, undone). Pass the store's key (--encryption-key or --manifest-key) to read the "
      "claims of an authenticated store.");
  args->store.add_to(*cmd);
  cmd->add_option("--workspace", args->workspace, "Only this workspace's checkpoints");
  add_output_options(*cmd, args->json, "the list");
  cmd->callback([args] { throw CLI::RuntimeError(run(*args)); });
}

}  // namespace wscp::agent
