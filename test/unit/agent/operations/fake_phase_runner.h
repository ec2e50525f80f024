#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "agent/operations/phase_runner.h"

namespace wscp::agent::testing {

// A phase runner that counts its runs and, when gated, holds each run until
// the test opens the gate (or the operation is cancelled).
class FakePhaseRunner final : public operations::PhaseRunner {
 public:
  std::atomic<int> runs{0};
  std::atomic<int> running{0};
  std::atomic<int> max_running{0};
  std::vector<operations::RecoveredEntry> recovered;
  std::map<std::string, Error> recovery_failed_stores;
  std::optional<Error> fail_with;
  // Per request, when set: the error that run should end with, if any.
  std::function<std::optional<Error>(const operations::Request&)> fail_if;
  std::vector<operations::Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

  void close_gate() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void open_gate() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }

  Result<operations::Outcome> run(const operations::Request& request, operations::RunContext& run) override {
    ++runs;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(request);
    }
    int now = ++running;
    int seen = max_running.load();
    while (now > seen && !max_running.compare_exchange_weak(seen, now)) {
    }
    run.begin_step("dump");
    run.ctx.report(Progress{"upload", 512, 1024, 100.0});
    {
      std::unique_lock lock(mu_);
      while (!open_ && !run.ctx.cancelled()) cv_.wait_for(lock, std::chrono::milliseconds(10));
    }
    --running;
    if (run.ctx.cancelled()) return Error(ErrorCode::kCancelled, "cancelled");
    if (fail_with) return *fail_with;
    if (fail_if) {
      if (auto e = fail_if(request)) return *e;
    }
    operations::Outcome o;
    o.workspace_id = request.workspace;
    o.checkpoint_id = request.checkpoint_id;
    o.containers = {"box"};
    o.archive_bytes = 1024;
    o.criu.push_back({"box", 1, 2, 3, 4, 5, 6});
    o.duration_ms = 7;
    return o;
  }
  Status preflight(const operations::PreflightRequest& request) override {
    if (request.checkpoint_id == "refused") return Error(ErrorCode::kUnsupported, "no CRIU here");
    return Ok{};
  }
  operations::RecoveryReport recover(const OperationContext&) override {
    return operations::RecoveryReport{recovered, recovery_failed_stores};
  }
  Status check_store(std::string_view store) const override {
    if (store.empty() || store == "main") return Ok{};
    return Error(ErrorCode::kInvalidArgument, "store \"" + std::string(store) + "\" is not configured");
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  std::vector<operations::Request> requests_;
};

}  // namespace wscp::agent::testing
