#include "controller/agent_inventory.h"

namespace wscp::controller {

using nlohmann::json;

std::optional<AgentCapacity> read_capacity(const json& j, std::string_view where, FieldProblems& problems) {
  const std::string at(where);
  if (!j.is_object()) {
    problems.add(at.empty() ? "capacity" : at.substr(0, at.size() - 1), "must be a JSON object");
    return std::nullopt;
  }
  AgentCapacity c;
  bool ok = true;
  if (const json* m = member(j, "memoryAvailableBytes"); m && !m->is_null()) {
    c.memory_available_bytes = read_unsigned(*m, at + "memoryAvailableBytes", problems);
    ok = ok && c.memory_available_bytes.has_value();
  }
  if (const json* w = member(j, "workspacesRunning"); w && !w->is_null()) {
    auto n = read_unsigned(*w, at + "workspacesRunning", problems, UINT32_MAX);
    if (n) c.workspaces_running = static_cast<std::uint32_t>(*n);
    ok = ok && n.has_value();
  }
  if (const json* d = member(j, "diskFreeBytes"); d && !d->is_null()) {
    if (!d->is_object()) {
      problems.add(at + "diskFreeBytes", "must be an object of directory: bytes");
      ok = false;
    } else if (d->size() > kMaxDiskPaths) {
      problems.add(at + "diskFreeBytes", "names " + std::to_string(d->size()) + " directories, at most " +
                                             std::to_string(kMaxDiskPaths) + " are accepted");
      ok = false;
    } else {
      for (const auto& [path, bytes] : d->items()) {
        const std::string field = at + "diskFreeBytes[\"" + excerpt(path, 60) + "\"]";
        if (path.empty() || path.size() > kMaxPathLength || path.front() != '/') {
          problems.add(field, "must be an absolute path of at most " + std::to_string(kMaxPathLength) + " characters");
          ok = false;
          continue;
        }
        auto n = read_unsigned(bytes, field, problems);
        if (n) c.disk_free_bytes[path] = *n;
        else ok = false;
      }
    }
  }
  if (!ok) return std::nullopt;
  return c;
}

std::optional<agent::inventory::Workspace> read_workspace(const json& j, std::string_view where,
                                                          FieldProblems& problems) {
  const std::string at(where);
  if (!j.is_object()) {
    problems.add(at.empty() ? "workspace" : at.substr(0, at.size() - 1), "must be a JSON object");
    return std::nullopt;
  }
  agent::inventory::Workspace w;
  bool ok = true;
  auto text = [&](const char* key, std::string& out, bool required) {
    const json* v = member(j, key);
    if (!v || v->is_null()) {
      if (required) {
        problems.add(at + key, "is required");
        ok = false;
      }
      return;
    }
    auto s = read_string(*v, kMaxNameLength, at + key, problems, !required);
    if (s) out = std::move(*s);
    else ok = false;
  };
  text("id", w.id, true);
  text("project", w.project, false);
  text("primary", w.primary, false);
  if (const json* r = member(j, "running")) {
    auto b = read_bool(*r, at + "running", problems);
    if (b) w.running = *b;
    else ok = false;
  }
  if (const json* m = member(j, "memoryBytes"); m && !m->is_null()) {
    w.memory_bytes = read_unsigned(*m, at + "memoryBytes", problems);
    ok = ok && w.memory_bytes.has_value();
  }
  if (const json* ls = member(j, "labels"); ls && ls->is_object()) {
    // The primary container's labels, for tenancy. Read leniently: a label
    // too long or of the wrong type is left out (tenancy then refuses the
    // workspace if it was the one that mattered), never the whole answer.
    for (const auto& [key, value] : ls->items()) {
      if (w.labels.size() >= kMaxLabels) break;
      if (key.empty() || key.size() > kMaxLabelKeyLength || !value.is_string()) continue;
      const auto& label_value = value.get_ref<const std::string&>();
      if (label_value.size() <= kMaxLabelValueLength) w.labels.emplace(key, label_value);
    }
  }
  if (const json* cs = member(j, "containers")) {
    if (!cs->is_array()) {
      problems.add(at + "containers", "must be an array");
      ok = false;
    } else if (cs->size() > kMaxContainersPerWorkspace) {
      problems.add(at + "containers", "lists " + std::to_string(cs->size()) + " containers, at most " +
                                          std::to_string(kMaxContainersPerWorkspace) + " are accepted");
      ok = false;
    } else {
      for (std::size_t i = 0; i < cs->size(); ++i) {
        const json& c = (*cs)[i];
        const std::string field = at + "containers[" + std::to_string(i) + "]";
        if (!c.is_object()) {
          problems.add(field, "must be a JSON object");
          ok = false;
          continue;
        }
        agent::inventory::WorkspaceContainer wc;
        auto name = read_string(c.value("name", json()), kMaxNameLength, field + ".name", problems);
        auto id = read_string(c.value("id", json()), kMaxNameLength, field + ".id", problems);
        auto state = read_string(c.value("state", json()), 64, field + ".state", problems, true);
        if (!name || !id || !state) {
          ok = false;
          continue;
        }
        w.containers.push_back({std::move(*name), std::move(*id), std::move(*state)});
      }
    }
  }
  if (!ok) return std::nullopt;
  return w;
}

}  // namespace wscp::controller
