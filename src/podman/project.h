#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "podman/archive_spool.h"
#include "podman/engine.h"

namespace wscp::podman {

inline constexpr const char* kComposeProjectLabel = "com.docker.compose.project";
inline constexpr const char* kComposeServiceLabel = "com.docker.compose.service";

struct ProjectService {
  std::string service;
  std::string archive_key;
  ContainerInfo facts;
  std::uint64_t archive_bytes = 0;
};

// A multi-service project's checkpoint. Its manifest, written to the spool
// after every archive, is the mark that the checkpoint is complete.
struct ProjectCheckpoint {
  std::string project;
  std::string primary_service;           // the devcontainer service
  std::vector<ProjectService> services;  // in dump order
  std::chrono::milliseconds dump_gap{0};  // first dump start to last dump end
  // What the dumps hold that a restore must be told about.
  bool tcp_established = false;
  bool file_locks = false;

  RestoreOptions restore_options() const {
    RestoreOptions o;
    o.tcp_established = tcp_established;
    o.file_locks = file_locks;
    return o;
  }
};

// The manifest's JSON form. Parsing refuses duplicate services and names that
// are not plain names (no '/', no "..", nothing hidden), since they become keys.
std::string project_manifest_json(const ProjectCheckpoint& p);
Result<ProjectCheckpoint> parse_project_manifest(const std::string& text);
std::string project_manifest_key(const std::string& project);
Status validate_plain_name(const std::string& what, const std::string& name);

// Finds every container labelled com.docker.compose.project=project and
// refuses, before anything is frozen, what cannot be exported (duplicate
// services, names that are not plain, stopped services, Podman-level
// dependencies, not exactly one primary service). Returns the checkpoint
// to be made: each service's facts, no archives yet.
Result<ProjectCheckpoint> plan_project(Engine& engine, const std::string& project, const CheckpointOptions& options);

// Dumps the planned services back to back (libpod cannot dump a paused
// container, so they cannot be frozen together), one archive per service,
// the manifest last. If a dump fails, every service it stopped is restored
// in place; the error says if any could not be.
Result<ProjectCheckpoint> dump_project(Engine& engine, ArchiveSpool& spool, ProjectCheckpoint plan,
                                       const CheckpointOptions& options, const OperationContext& ctx);

// plan_project, then dump_project.
Result<ProjectCheckpoint> checkpoint_project(Engine& engine, ArchiveSpool& spool, const std::string& project,
                                             const CheckpointOptions& options, const OperationContext& ctx);

struct ProjectRestore {
  Workspace primary;
  std::vector<Workspace> services;
};

// Restores every service of a project checkpoint, then lets them settle
// together; if any fails, removes the ones already restored, so that
// nothing half-made is left. The containers that may remain on the node
// all the same (restored ones it could not remove, and a failed one whose
// restore could not be undone: see Engine::restore) are named in
// `may_remain` (when given), and by the error.
Result<ProjectRestore> restore_project(Engine& engine, ArchiveSpool& spool, const ProjectCheckpoint& checkpoint,
                                       const OperationContext& ctx, std::vector<std::string>* may_remain = nullptr);

// Reads and validates a project's manifest from the spool.
Result<ProjectCheckpoint> load_project_checkpoint(ArchiveSpool& spool, const std::string& project,
                                                  const OperationContext& ctx);

}  // namespace wscp::podman
