#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace wscp::agent::operations {

// A fixed number of worker threads taking tasks in order: how many
// operations run at once on the node, whatever their number.
class Executor {
 public:
  explicit Executor(std::size_t workers);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // False once stopping.
  bool submit(std::function<void()> task);
  // Runs what is queued, then joins the workers.
  void stop();

 private:
  void work();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace wscp::agent::operations
