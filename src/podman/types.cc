#include "podman/types.h"

#include <nlohmann/json.hpp>

namespace wscp::podman {
namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::map<std::string, std::string> string_map(const json& j) {
  std::map<std::string, std::string> out;
  if (!j.is_object()) return out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it->is_string()) out[it.key()] = it->get<std::string>();
  }
  return out;
}

Error bad_answer(const char* what, const std::exception& e) {
  return Error(ErrorCode::kInternal, std::string("unexpected libpod answer for ") + what + ": " + e.what());
}

}  // namespace

Result<ContainerInfo> parse_container_inspect(const json& j) {
  try {
    ContainerInfo c;
    c.id = j.at("Id").get<std::string>();
    c.name = str(j, "Name");
    if (auto s = j.find("State"); s != j.end() && s->is_object()) c.state = str(*s, "Status");
    c.image_id = str(j, "Image");
    c.image_name = str(j, "ImageName");
    c.oci_runtime = str(j, "OCIRuntime");
    c.pod = str(j, "Pod");
    if (auto cfg = j.find("Config"); cfg != j.end() && cfg->is_object()) {
      if (auto l = cfg->find("Labels"); l != cfg->end()) c.labels = string_map(*l);
    }
    if (auto m = j.find("Mounts"); m != j.end() && m->is_array()) {
      for (const auto& mount : *m) {
        c.mounts.push_back({str(mount, "Type"), str(mount, "Name"), str(mount, "Source"),
                            str(mount, "Destination")});
      }
    }
    if (auto ns = j.find("NetworkSettings"); ns != j.end() && ns->is_object()) {
      if (auto nets = ns->find("Networks"); nets != ns->end() && nets->is_object()) {
        for (auto it = nets->begin(); it != nets->end(); ++it) c.networks.push_back(it.key());
      }
    }
    if (auto d = j.find("Dependencies"); d != j.end() && d->is_array()) {
      for (const auto& dep : *d) {
        if (dep.is_string()) c.dependencies.push_back(dep.get<std::string>());
      }
    }
    if (c.id.empty()) return Error(ErrorCode::kInternal, "libpod returned a container without an Id");
    return c;
  } catch (const std::exception& e) {
    return bad_answer("container inspect", e);
  }
}

Result<std::vector<ContainerSummary>> parse_container_list(const json& j) {
  try {
    std::vector<ContainerSummary> out;
    for (const auto& c : j) {
      ContainerSummary s;
      s.id = c.at("Id").get<std::string>();
      if (auto n = c.find("Names"); n != c.end() && n->is_array() && !n->empty()) {
        s.name = n->front().get<std::string>();
      }
      s.state = str(c, "State");
      if (auto l = c.find("Labels"); l != c.end()) s.labels = string_map(*l);
      out.push_back(std::move(s));
    }
    return out;
  } catch (const std::exception& e) {
    return bad_answer("container list", e);
  }
}

Result<std::uint64_t> parse_memory_usage(const json& j) {
  try {
    if (auto e = j.find("Error"); e != j.end() && !e->is_null()) {
      return Error(ErrorCode::kUnavailable, "Podman could not read the container's statistics: " + e->dump());
    }
    const auto& stats = j.at("Stats");
    if (!stats.is_array() || stats.size() != 1) {
      return Error(ErrorCode::kInternal, "Podman's stats answer does not hold exactly one container");
    }
    const auto& usage = stats.front().at("MemUsage");
    if (!usage.is_number_unsigned()) {
      return Error(ErrorCode::kInternal, "Podman's stats answer has a MemUsage that is not a byte count");
    }
    return usage.get<std::uint64_t>();
  } catch (const std::exception& e) {
    return bad_answer("container stats", e);
  }
}

Result<ImageInfo> parse_image_inspect(const json& j) {
  try {
    ImageInfo info;
    info.id = j.at("Id").get<std::string>();
    if (auto tags = j.find("RepoTags"); tags != j.end() && tags->is_array()) {
      for (const auto& t : *tags) info.names.push_back(t.get<std::string>());
    }
    return info;
  } catch (const std::exception& e) {
    return bad_answer("image inspect", e);
  }
}

Result<std::vector<ImageInfo>> parse_image_list(const json& j) {
  try {
    std::vector<ImageInfo> out;
    for (const auto& i : j) {
      ImageInfo info;
      info.id = i.at("Id").get<std::string>();
      if (info.id.starts_with("sha256:")) info.id = info.id.substr(7);
      // libpod lists full names under "Names" (absent for an untagged image).
      if (auto n = i.find("Names"); n != i.end() && n->is_array()) {
        for (const auto& name : *n) info.names.push_back(name.get<std::string>());
      }
      out.push_back(std::move(info));
    }
    return out;
  } catch (const std::exception& e) {
    return bad_answer("image list", e);
  }
}

Result<HostInfo> parse_host_info(const json& info) {
  try {
    HostInfo h;
    const json& version = info.at("version");
    h.podman_version = str(version, "Version");
    h.api_version = str(version, "APIVersion");
    const json& runtime = info.at("host").at("ociRuntime");
    h.oci_runtime = str(runtime, "name");
    h.oci_runtime_version = str(runtime, "version");
    // Only for capacity figures: anything odd there is left out, never fatal.
    if (auto store = info.find("store"); store != info.end() && store->is_object()) {
      auto text = [&](const char* key) {
        auto v = store->find(key);
        return v != store->end() && v->is_string() ? v->get<std::string>() : std::string();
      };
      h.graph_root = text("graphRoot");
      h.image_copy_tmp_dir = text("imageCopyTmpDir");
    }
    return h;
  } catch (const std::exception& e) {
    return bad_answer("info", e);
  }
}

void to_json(json& j, const Mount& m) {
  j = json{{"type", m.type}, {"name", m.name}, {"source", m.source}, {"destination", m.destination}};
}

void from_json(const json& j, Mount& m) {
  m.type = j.value("type", "");
  m.name = j.value("name", "");
  m.source = j.value("source", "");
  m.destination = j.value("destination", "");
}

void to_json(json& j, const ContainerInfo& c) {
  j = json{{"id", c.id},          {"name", c.name},         {"imageId", c.image_id},
           {"imageName", c.image_name}, {"ociRuntime", c.oci_runtime}, {"labels", c.labels},
           {"mounts", c.mounts},  {"networks", c.networks}, {"dependencies", c.dependencies}};
}

void from_json(const json& j, ContainerInfo& c) {
  c.id = j.at("id").get<std::string>();
  c.name = j.at("name").get<std::string>();
  c.image_id = j.value("imageId", "");
  c.image_name = j.value("imageName", "");
  c.oci_runtime = j.value("ociRuntime", "");
  c.labels = j.value("labels", std::map<std::string, std::string>{});
  c.mounts = j.value("mounts", std::vector<Mount>{});
  c.networks = j.value("networks", std::vector<std::string>{});
  c.dependencies = j.value("dependencies", std::vector<std::string>{});
}

void to_json(json& j, const CheckpointStats& s) {
  j = json{{"freezingTimeUs", s.freezing_time_us}, {"frozenTimeUs", s.frozen_time_us},
           {"memdumpTimeUs", s.memdump_time_us},   {"memwriteTimeUs", s.memwrite_time_us},
           {"pagesScanned", s.pages_scanned},      {"pagesWritten", s.pages_written}};
}

}  // namespace wscp::podman
