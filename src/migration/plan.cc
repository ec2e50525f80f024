#include "migration/plan.h"

#include <nlohmann/json.hpp>
#include <set>

#include "migration/signed_document.h"
#include "store/layout.h"

namespace wscp::migration {
namespace {

using nlohmann::json;
constexpr std::string_view kKind = "plan v1";
constexpr std::size_t kMaxContainers = 64;

json options_json(const podman::CheckpointOptions& o) {
  return json{{"leaveRunning", o.leave_running}, {"tcpEstablished", o.tcp_established},
              {"fileLocks", o.file_locks},       {"ignoreRootfs", o.ignore_rootfs},
              {"preCheckpoint", o.pre_checkpoint}, {"withPrevious", o.with_previous}};
}

json options_json(const podman::RestoreOptions& o) {
  return json{{"name", o.name ? json(*o.name) : json(nullptr)},
              {"ignoreStaticIp", o.ignore_static_ip},
              {"ignoreStaticMac", o.ignore_static_mac},
              {"tcpEstablished", o.tcp_established},
              {"fileLocks", o.file_locks},
              {"ignoreRootfs", o.ignore_rootfs},
              {"ignoreVolumes", o.ignore_volumes},
              {"publishPorts", o.publish_ports}};
}

// nlohmann's typed getters throw on a wrong type; parse_plan catches that
// and names the plan as malformed.
void read_options(const json& j, podman::CheckpointOptions& o) {
  j.at("leaveRunning").get_to(o.leave_running);
  j.at("tcpEstablished").get_to(o.tcp_established);
  j.at("fileLocks").get_to(o.file_locks);
  j.at("ignoreRootfs").get_to(o.ignore_rootfs);
  j.at("preCheckpoint").get_to(o.pre_checkpoint);
  j.at("withPrevious").get_to(o.with_previous);
}

void read_options(const json& j, podman::RestoreOptions& o) {
  const json& name = j.at("name");
  if (!name.is_null()) o.name = name.get<std::string>();
  j.at("ignoreStaticIp").get_to(o.ignore_static_ip);
  j.at("ignoreStaticMac").get_to(o.ignore_static_mac);
  j.at("tcpEstablished").get_to(o.tcp_established);
  j.at("fileLocks").get_to(o.file_locks);
  j.at("ignoreRootfs").get_to(o.ignore_rootfs);
  j.at("ignoreVolumes").get_to(o.ignore_volumes);
  j.at("publishPorts").get_to(o.publish_ports);
}

json to_document(const Plan& p) {
  return json{{"version", Plan::kVersion},
              {"checkpointId", p.checkpoint_id},
              {"workspaceId", p.workspace_id},
              {"sourceNode", p.source_node},
              {"createdAt", p.created_at},
              {"project", p.project},
              {"primary", p.primary},
              {"containers", p.containers},
              {"checkpoint", options_json(p.checkpoint)},
              {"restore", options_json(p.restore)}};
}

Plan from_document(const json& j) {
  Plan p;
  j.at("checkpointId").get_to(p.checkpoint_id);
  j.at("workspaceId").get_to(p.workspace_id);
  j.at("sourceNode").get_to(p.source_node);
  j.at("createdAt").get_to(p.created_at);
  j.at("project").get_to(p.project);
  j.at("primary").get_to(p.primary);
  const json& containers = j.at("containers");
  if (!containers.is_array() || containers.size() > kMaxContainers) {
    throw std::invalid_argument("containers must be a list of at most " + std::to_string(kMaxContainers));
  }
  p.containers = containers.get<std::vector<podman::ContainerInfo>>();
  read_options(j.at("checkpoint"), p.checkpoint);
  read_options(j.at("restore"), p.restore);
  return p;
}

}  // namespace

std::string image_digest(std::string_view image_id) {
  return image_id.starts_with("sha256:") ? std::string(image_id) : "sha256:" + std::string(image_id);
}

std::string podman_image_id(std::string_view image_id) {
  return std::string(image_id.starts_with("sha256:") ? image_id.substr(7) : image_id);
}

Status validate_plan(const Plan& p) {
  auto bad = [](const std::string& why) { return Error(ErrorCode::kInvalidArgument, "plan: " + why); };
  for (auto st : {store::validate_name(p.workspace_id, "workspace id"),
                  store::validate_name(p.checkpoint_id, "checkpoint id")}) {
    if (!st) return st.error().wrap("plan");
  }
  if (p.source_node.empty()) return bad("the source node is empty");
  if (p.containers.empty()) return bad("names no container");
  if (p.containers.size() > kMaxContainers) return bad("names more than " + std::to_string(kMaxContainers) + " containers");
  std::set<std::string> names;
  bool primary_found = false;
  for (const auto& c : p.containers) {
    if (auto st = store::validate_name(c.name, "container name"); !st) return st.error().wrap("plan");
    if (c.id.empty()) return bad("container '" + c.name + "' has no id");
    if (!names.insert(c.name).second) return bad("container '" + c.name + "' is listed twice");
    if (auto st = store::validate_image_digest(image_digest(c.image_id)); !st) {
      return st.error().wrap("plan: container '" + c.name + "'");
    }
    primary_found = primary_found || c.name == p.primary;
  }
  if (!primary_found) return bad("the primary container '" + p.primary + "' is not among its containers");
  if (p.project.empty() && p.containers.size() != 1) return bad("several containers but no project");
  if (p.checkpoint.leave_running) {
    return bad("leaveRunning is for a checkpoint kept for later; a migration's source must stop, or its later "
               "work would be lost");
  }
  if (p.restore.name && p.restore.tcp_established) {
    return bad("a new name cannot be combined with tcpEstablished (the connections belong to the old address)");
  }
  return Ok{};
}

std::string serialize_plan(const Plan& plan, const store::EncryptionKey* mac_key) {
  return sign_document(to_document(plan), kKind, mac_key);
}

Result<Plan> parse_plan(std::string_view text, const store::Keyring& mac_keys) {
  auto document = open_document(text, kKind, mac_keys, "plan");
  if (!document) return document.error();
  auto version = document->find("version");
  if (version == document->end() || !version->is_number_integer()) {
    return Error(ErrorCode::kInvalidArgument, "plan has no integer 'version': it is not a wscp plan");
  }
  if (version->get<long long>() != Plan::kVersion) {
    return Error(ErrorCode::kUnsupported, "plan version " + version->dump() + " is not supported (this wscp reads "
                                              "version " + std::to_string(Plan::kVersion) + "): upgrade wscp");
  }
  Plan plan;
  try {
    plan = from_document(*document);
  } catch (const std::exception& e) {
    return Error(ErrorCode::kInvalidArgument, std::string("plan is malformed: ") + e.what());
  }
  if (auto st = validate_plan(plan); !st) return st.error();
  return plan;
}

}  // namespace wscp::migration
