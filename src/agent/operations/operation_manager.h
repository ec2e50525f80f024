#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/operations/executor.h"
#include "agent/operations/memory_budget.h"
#include "agent/operations/operation.h"
#include "agent/operations/operation_store.h"
#include "agent/operations/phase_runner.h"
#include "agent/operations/step_clock.h"
#include "common/clock.h"
#include "log/logger.h"
#include "metrics/agent_metrics.h"

namespace wscp::agent::operations {

struct ManagerOptions {
  std::size_t workers = 4;                          // operations running at once
  std::uint64_t memory_budget_bytes = 1ull << 30;  // buffers in flight across all operations
  // What one checkpoint or restore is expected to hold in flight (release
  // and resume move no archive and need none).
  std::uint64_t transfer_buffer_bytes = 64ull << 20;
  // How long a finished operation's record is kept (and its id answers with
  // it) before prune_finished() forgets it; a repeat of the id after that
  // is a new operation.
  std::chrono::milliseconds retention = std::chrono::hours(24 * 7);
};

struct Started {
  Operation operation;
  bool created = false;  // false: the id was known and the same request returned
};

// Runs phases as operations under callers' ids. The same id with the same
// request is the same operation (never a second run); with another request
// it is a conflict. Records are persisted on every change of state or step,
// so that after a restart the id still answers. Thread-safe.
class OperationManager {
 public:
  OperationManager(std::unique_ptr<OperationStore> store, PhaseRunner& runner, ManagerOptions options,
                   std::shared_ptr<Clock> clock, std::shared_ptr<log::Logger> logger,
                   std::shared_ptr<metrics::AgentMetrics> metrics);
  ~OperationManager();
  OperationManager(const OperationManager&) = delete;
  OperationManager& operator=(const OperationManager&) = delete;

  // Before anything starts: loads the records, runs recovery over the
  // journal, and marks each operation that was running when the agent
  // stopped with recovery's outcome (failed; it is never run again), and
  // each that had not begun as cancelled. A recovery that fails is logged
  // and recorded on those operations; the manager still opens. Returns
  // recovery's error, if any, for the caller to report.
  Status open();

  // kConflict: the id exists with another request; kUnavailable: shutting
  // down; kInvalidArgument: a bad id or an unknown store.
  Result<Started> start(const std::string& id, const Request& request);
  Result<Operation> get(const std::string& id) const;
  // Asks a pending or running operation to stop; a finished one is returned
  // as it is.
  Result<Operation> cancel(const std::string& id);
  std::vector<Operation> list() const;
  // Forgets the operations that finished more than `retention` ago; returns
  // how many. The agent calls it now and then.
  std::size_t prune_finished();

  // Refuses new operations, waits up to `grace` for those running to end
  // (checkpoints reach durability), then cancels what is left and waits for
  // it to stop. Pending operations that had not begun are cancelled at once.
  void shutdown(std::chrono::milliseconds grace);
  bool accepting() const;
  std::size_t active() const;

  const MemoryBudget& budget() const { return budget_; }

 private:
  struct Entry {
    Operation op;
    std::shared_ptr<CancelToken> cancel = std::make_shared<CancelToken>();
    Clock::time_point step_started{};
  };

  void run(const std::shared_ptr<Entry>& entry);
  static std::map<metrics::Step, std::chrono::milliseconds> measured_steps(const StepClock& steps,
                                                                          const Outcome& outcome);
  // Puts the steps' durations in a checkpoint's or restore's result, and
  // counts them, and the bytes moved, in the metrics.
  void record_step_metrics(Kind kind, const StepClock& steps, Result<Outcome>& result);
  void persist_locked(const Entry& entry);
  void finish_step_locked(Entry& entry);
  std::string now_text() const;

  std::unique_ptr<OperationStore> store_;
  PhaseRunner& runner_;
  ManagerOptions options_;
  std::shared_ptr<Clock> clock_;
  std::shared_ptr<log::Logger> logger_;
  std::shared_ptr<metrics::AgentMetrics> metrics_;
  MemoryBudget budget_;

  mutable std::mutex mu_;
  std::condition_variable idle_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  bool accepting_ = true;
  bool stopped_ = false;
  std::size_t active_ = 0;  // submitted and not yet finished
  std::unique_ptr<Executor> executor_;
};

}  // namespace wscp::agent::operations
