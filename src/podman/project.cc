#include "podman/project.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

namespace wscp::podman {
namespace {

using nlohmann::json;
constexpr int kManifestVersion = 1;
constexpr std::size_t kMaxManifest = 1 << 20;

std::string label_or(const ContainerInfo& c, const std::string& key, const std::string& fallback) {
  auto it = c.labels.find(key);
  return it == c.labels.end() || it->second.empty() ? fallback : it->second;
}

// Undoes the dumps made so far (Podman kept each checkpoint: keep=true);
// returns what could not be resumed, empty when all run again.
std::string resume_stopped(Engine& engine, const std::vector<ProjectService>& services, const RestoreOptions& options) {
  std::string failed;
  for (const auto& s : services) {
    auto now = engine.client().inspect_container(s.facts.id);
    if (now.ok() && now->running()) continue;
    if (auto back = engine.restore_in_place(s.facts, options); !back.ok()) {
      failed += " " + s.service + " (" + back.error().message() + ")";
    }
  }
  return failed;
}

Error after_resume(const Error& why, const std::string& failed) {
  if (failed.empty()) return why.wrap("the services were resumed");
  return Error(ErrorCode::kRestoreFailed, why.message() + "; these services could not be resumed and are STOPPED:" + failed);
}

Result<std::string> read_all(ByteSource& source) {
  std::string text;
  std::array<std::byte, 16384> buffer;
  for (;;) {
    auto n = source.read(buffer);
    if (!n.ok()) return n.error();
    if (*n == 0) return text;
    if (text.size() + *n > kMaxManifest) return Error(ErrorCode::kInvalidArgument, "project manifest is larger than 1 MiB");
    text.append(reinterpret_cast<const char*>(buffer.data()), *n);
  }
}

}  // namespace

Status validate_plain_name(const std::string& what, const std::string& name) {
  bool plain = !name.empty() && name.size() <= 128 && name != "." && name != ".." && name.front() != '.' &&
               std::all_of(name.begin(), name.end(), [](char c) {
                 return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
               });
  if (plain) return Ok{};
  return Error(ErrorCode::kInvalidArgument,
               what + " '" + name + "' is not a plain name (letters, digits, '-', '_', '.'; not starting with '.')");
}

std::string project_manifest_key(const std::string& project) { return "projects/" + project + "/manifest.json"; }

std::string project_manifest_json(const ProjectCheckpoint& p) {
  json services = json::array();
  for (const auto& s : p.services) {
    services.push_back({{"service", s.service}, {"archive", s.archive_key}, {"archiveBytes", s.archive_bytes},
                        {"container", s.facts}});
  }
  return json{{"version", kManifestVersion},   {"project", p.project},
              {"primaryService", p.primary_service}, {"dumpGapMs", p.dump_gap.count()},
              {"tcpEstablished", p.tcp_established}, {"fileLocks", p.file_locks},
              {"services", services}}
      .dump(2);
}

Result<ProjectCheckpoint> parse_project_manifest(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return Error(ErrorCode::kInvalidArgument, "project manifest is not a JSON object");
  try {
    if (j.at("version").get<int>() != kManifestVersion) {
      return Error(ErrorCode::kInvalidArgument, "project manifest version " + j.at("version").dump() +
                                                    " is not supported (expected " + std::to_string(kManifestVersion) + ")");
    }
    ProjectCheckpoint p;
    p.project = j.at("project").get<std::string>();
    if (auto s = validate_plain_name("project", p.project); !s.ok()) return s.error();
    p.primary_service = j.at("primaryService").get<std::string>();
    p.dump_gap = std::chrono::milliseconds(j.value("dumpGapMs", 0));
    p.tcp_established = j.value("tcpEstablished", false);
    p.file_locks = j.value("fileLocks", false);
    std::set<std::string> seen;
    for (const auto& entry : j.at("services")) {
      ProjectService s;
      s.service = entry.at("service").get<std::string>();
      if (auto v = validate_plain_name("service", s.service); !v.ok()) return v.error();
      if (!seen.insert(s.service).second) {
        return Error(ErrorCode::kInvalidArgument, "project manifest lists service '" + s.service + "' twice");
      }
      s.archive_key = entry.at("archive").get<std::string>();
      if (s.archive_key != "projects/" + p.project + "/" + s.service + ".tar") {
        return Error(ErrorCode::kInvalidArgument, "service " + s.service + " points at archive '" + s.archive_key +
                                                      "', outside its project's place");
      }
      s.archive_bytes = entry.value("archiveBytes", 0ull);
      s.facts = entry.at("container").get<ContainerInfo>();
      p.services.push_back(std::move(s));
    }
    if (p.services.empty()) return Error(ErrorCode::kInvalidArgument, "project manifest lists no services");
    if (!seen.count(p.primary_service)) {
      return Error(ErrorCode::kInvalidArgument, "primary service '" + p.primary_service + "' is not in the project");
    }
    return p;
  } catch (const std::exception& e) {
    return Error(ErrorCode::kInvalidArgument, std::string("project manifest is malformed: ") + e.what());
  }
}

Result<ProjectCheckpoint> plan_project(Engine& engine, const std::string& project, const CheckpointOptions& options) {
  if (auto s = validate_plain_name("project", project); !s.ok()) return s.error();
  auto listed = engine.client().list_containers(std::string(kComposeProjectLabel) + "=" + project);
  if (!listed.ok()) return listed.error();
  if (listed->empty()) {
    return Error(ErrorCode::kNotFound, "no containers labelled " + std::string(kComposeProjectLabel) + "=" + project);
  }

  ProjectCheckpoint result;
  result.project = project;
  result.tcp_established = options.tcp_established;
  result.file_locks = options.file_locks;
  std::set<std::string> seen;
  std::vector<std::string> primaries;
  for (const auto& summary : *listed) {
    auto facts = engine.client().inspect_container(summary.id);
    if (!facts.ok()) return facts.error();
    ProjectService s;
    s.service = label_or(*facts, kComposeServiceLabel, facts->name);
    if (auto v = validate_plain_name("service", s.service); !v.ok()) return v.error();
    if (!seen.insert(s.service).second) {
      return Error(ErrorCode::kInvalidArgument, "project " + project + " has two containers for service '" +
                                                    s.service + "'; scale it to one before checkpointing");
    }
    if (!facts->running()) {
      return Error(ErrorCode::kInvalidArgument, "service " + s.service + " of project " + project + " is " +
                                                    facts->state + "; every service must be running");
    }
    if (!facts->dependencies.empty()) {
      return Error(ErrorCode::kUnsupported, "service " + s.service + " depends on " + facts->dependencies.front() +
                                                " at the Podman level, which libpod refuses to export; "
                                                "recreate the project without Podman-level dependencies");
    }
    if (facts->labels.count(engine.config().workspace_label)) primaries.push_back(s.service);
    s.archive_key = "projects/" + project + "/" + s.service + ".tar";
    s.facts = std::move(*facts);
    result.services.push_back(std::move(s));
  }
  if (primaries.size() != 1) {
    return Error(ErrorCode::kInvalidArgument,
                 "project " + project + " must have exactly one service labelled " + engine.config().workspace_label +
                     " (the devcontainer), found " + std::to_string(primaries.size()));
  }
  result.primary_service = primaries.front();
  return result;
}

Result<ProjectCheckpoint> dump_project(Engine& engine, ArchiveSpool& spool, ProjectCheckpoint result,
                                       const CheckpointOptions& options, const OperationContext& ctx) {
  CheckpointOptions dump_options = options;
  dump_options.keep = true;  // lets a failed project resume in place
  const RestoreOptions resume = result.restore_options();
  std::vector<ProjectService> touched;
  const auto started = std::chrono::steady_clock::now();
  for (auto& s : result.services) {
    touched.push_back(s);  // a failed dump may still have stopped it
    auto sink = spool.create(s.archive_key, ctx);
    if (!sink.ok()) return after_resume(sink.error(), resume_stopped(engine, touched, resume));
    auto done = engine.checkpoint(s.facts.id, dump_options, **sink, ctx);
    Status durable = done.ok() ? (*sink)->close() : Status(done.error());
    if (!durable.ok()) {
      return after_resume(durable.error().wrap("service " + s.service), resume_stopped(engine, touched, resume));
    }
    s.archive_bytes = done->archive_bytes;
  }
  result.dump_gap =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);

  auto manifest = spool.create(project_manifest_key(result.project), ctx);
  std::string text = project_manifest_json(result);
  Status written = manifest.ok() ? (*manifest)->write(std::as_bytes(std::span(text.data(), text.size())))
                                 : Status(manifest.error());
  if (written.ok()) written = (*manifest)->close();
  if (!written.ok()) {
    return after_resume(written.error().wrap("writing the project manifest"), resume_stopped(engine, touched, resume));
  }
  return result;
}

Result<ProjectCheckpoint> checkpoint_project(Engine& engine, ArchiveSpool& spool, const std::string& project,
                                             const CheckpointOptions& options, const OperationContext& ctx) {
  auto plan = plan_project(engine, project, options);
  if (!plan.ok()) return plan.error();
  return dump_project(engine, spool, std::move(*plan), options, ctx);
}

Result<ProjectCheckpoint> load_project_checkpoint(ArchiveSpool& spool, const std::string& project,
                                                  const OperationContext& ctx) {
  if (auto s = validate_plain_name("project", project); !s.ok()) return s.error();
  auto in = spool.open(project_manifest_key(project), ctx);
  if (!in.ok()) return in.error().wrap("project " + project + " has no complete checkpoint");
  auto text = read_all(**in);
  if (!text.ok()) return text.error();
  auto parsed = parse_project_manifest(*text);
  if (parsed.ok() && parsed->project != project) {
    return Error(ErrorCode::kInvalidArgument, "the manifest at " + project_manifest_key(project) +
                                                  " is for project " + parsed->project);
  }
  return parsed;
}

Result<ProjectRestore> restore_project(Engine& engine, ArchiveSpool& spool, const ProjectCheckpoint& checkpoint,
                                       const OperationContext& ctx, std::vector<std::string>* may_remain) {
  ProjectRestore result;
  auto roll_back = [&](const Error& why, const std::string& step) -> Error {
    std::string stuck;
    for (const auto& w : result.services) {
      auto s = engine.client().remove_container(w.container.id, true);
      if (s.ok() || s.error().code() == ErrorCode::kNotFound) continue;
      stuck += (stuck.empty() ? "" : ", ") + w.container.name + " (" + s.error().message() + ")";
      if (may_remain) may_remain->push_back(w.container.name);
    }
    return why.wrap(step + " of project " + checkpoint.project + " (" +
                    (stuck.empty() ? std::string("the services restored were removed")
                                   : "these restored services could not be removed: " + stuck) +
                    ")");
  };
  RestoreHints hints;
  hints.settle = false;  // all of them settle together below
  for (const auto& s : checkpoint.services) {
    auto archive = spool.open(s.archive_key, ctx);
    if (!archive.ok()) return roll_back(archive.error(), "restoring service " + s.service);
    hints.archive_bytes = s.archive_bytes;
    auto restored = engine.restore(**archive, s.facts, checkpoint.restore_options(), ctx, hints);
    if (!restored.ok()) {
      // This one may run here all the same (see Engine::restore).
      if (restored.error().code() == ErrorCode::kDeadlineExceeded && may_remain) may_remain->push_back(s.facts.name);
      return roll_back(restored.error(), "restoring service " + s.service);
    }
    if (s.service == checkpoint.primary_service) result.primary = *restored;
    result.services.push_back(std::move(*restored));
  }
  if (auto settled = engine.settle(result.services); !settled.ok()) {
    return roll_back(settled.error(), "settling the services");
  }
  return result;
}

}  // namespace wscp::podman
