#include "agent/dry_run/dry_run_node.h"

#include <algorithm>
#include <cstdio>
#include <thread>

namespace wscp::agent::dry_run {

using operations::Kind;
using operations::Outcome;

namespace {

// A stable 64-hex-digit container id, as Podman's look (FNV-1a, repeated).
std::string container_id(std::string_view name) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return std::string(hex) + hex + hex + hex;
}

}  // namespace

DryRunNode::DryRunNode(DryRunOptions options) : options_(std::move(options)) {
  entries_.reserve(options_.workspaces);
  for (std::size_t i = 0; i < options_.workspaces; ++i) {
    const std::string name = options_.node + "-ws-" + std::to_string(i);
    entries_.push_back(Entry{name, name, true});
  }
}

inventory::Workspace DryRunNode::describe(const Entry& e) const {
  inventory::Workspace w;
  w.id = e.id;
  w.primary = e.name;
  w.containers.push_back({e.name, container_id(e.name), e.running ? "running" : "exited"});
  w.running = e.running;
  if (e.running) w.memory_bytes = options_.workspace_memory_bytes;
  w.labels = options_.labels;
  w.labels[options_.workspace_label] = e.id;
  return w;
}

Result<std::vector<inventory::Workspace>> DryRunNode::workspaces() {
  std::lock_guard lock(mu_);
  std::vector<inventory::Workspace> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) out.push_back(describe(e));
  return out;
}

Result<inventory::Capacity> DryRunNode::capacity() {
  std::lock_guard lock(mu_);
  inventory::Capacity c;
  c.memory_available_bytes = 1ull << 40;
  c.disk_free_bytes = {{"/var/lib/containers/storage", 1ull << 40}, {"/var/tmp", 1ull << 40}};
  c.workspaces_running =
      static_cast<std::uint32_t>(std::count_if(entries_.begin(), entries_.end(), [](const Entry& e) { return e.running; }));
  return c;
}

DryRunNode::Entry* DryRunNode::find(std::string_view ref) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.id == ref || e.name == ref; });
  return it == entries_.end() ? nullptr : &*it;
}

Status DryRunNode::check_store(std::string_view store) const {
  if (store.empty() && options_.stores.size() <= 1) return Ok{};
  if (std::find(options_.stores.begin(), options_.stores.end(), store) != options_.stores.end()) return Ok{};
  return Error(ErrorCode::kInvalidArgument, "store \"" + std::string(store) + "\" is not configured on this agent");
}

// The phase's time, cut short by a cancellation.
Status DryRunNode::pretend(const operations::RunContext& run) const {
  const auto end = std::chrono::steady_clock::now() + options_.phase_duration;
  while (std::chrono::steady_clock::now() < end) {
    if (run.ctx.cancelled()) return Error(ErrorCode::kCancelled, "cancelled");
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        end - std::chrono::steady_clock::now(), std::chrono::milliseconds(20)));
  }
  return Ok{};
}

Result<Outcome> DryRunNode::run(const operations::Request& request, operations::RunContext& run) {
  if (auto s = check_store(request.store); !s) return s.error();
  run.begin_step(to_string(request.kind));
  if (auto s = pretend(run); !s) return s.error();
  return apply(request);
}

Result<Outcome> DryRunNode::apply(const operations::Request& request) {
  std::lock_guard lock(mu_);
  const std::string ref = request.project.empty() ? request.workspace : request.project;
  Entry* e = find(ref);
  Outcome out;
  out.checkpoint_id = request.checkpoint_id;
  out.workspace_id = e ? e->id : request.workspace;
  switch (request.kind) {
    case Kind::kCheckpoint:
      if (!e || !e->running) return Error(ErrorCode::kNotFound, "no running workspace " + ref + " on this node");
      e->running = false;
      out.archive_bytes = options_.workspace_memory_bytes;
      break;
    case Kind::kRestore:
      if (e) return Error(ErrorCode::kConflict, "workspace " + ref + " is already on this node");
      entries_.push_back(Entry{request.workspace, request.workspace, true});
      e = &entries_.back();
      out.archive_bytes = options_.workspace_memory_bytes;
      break;
    case Kind::kRelease:
      if (e && e->running) return Error(ErrorCode::kConflict, "workspace " + ref + " runs here: not released");
      if (e) entries_.erase(entries_.begin() + (e - entries_.data()));
      return out;
    case Kind::kResume:
      if (!e) return Error(ErrorCode::kNotFound, "no workspace " + ref + " on this node to resume");
      e->running = true;
      break;
    case Kind::kDelete:
      return out;
  }
  out.primary = e->name;
  out.containers = {e->name};
  return out;
}

Status DryRunNode::preflight(const operations::PreflightRequest& request) {
  if (auto s = check_store(request.store); !s) return s.error();
  std::lock_guard lock(mu_);
  if (!request.workspace_id.empty() && find(request.workspace_id))
    return Error(ErrorCode::kConflict, "workspace " + request.workspace_id + " is already on this node");
  return Ok{};
}

}  // namespace wscp::agent::dry_run
