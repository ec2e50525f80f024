#pragma once

// A KubeClient that passes every call to the real one, records how each
// watch ended, and can hold new watches back until the test lets them go:
// so a test decides exactly what happens while a watcher is disconnected.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "kube/kube_client.h"

namespace wscp::kube::testing {

class GatedClient final : public KubeClient {
 public:
  explicit GatedClient(KubeClient& real) : real_(real) {}

  void close_gate() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void open_gate() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  int waiting() const {
    std::lock_guard lock(mu_);
    return waiting_;
  }
  std::vector<Status> watch_results() const {
    std::lock_guard lock(mu_);
    return results_;
  }
  int lists() const {
    std::lock_guard lock(mu_);
    return lists_;
  }

  Result<Json> get(const Resource& r, std::string_view ns, std::string_view name, const CallOptions& o = {}) override {
    return real_.get(r, ns, name, o);
  }
  Result<ObjectList> list(const Resource& r, std::string_view ns, const ListOptions& o = {}) override {
    {
      std::lock_guard lock(mu_);
      ++lists_;
    }
    return real_.list(r, ns, o);
  }
  Result<Json> create(const Resource& r, const Json& obj, const WriteOptions& o = {}) override {
    return real_.create(r, obj, o);
  }
  Result<Json> update(const Resource& r, const Json& obj, const WriteOptions& o = {}) override {
    return real_.update(r, obj, o);
  }
  Result<Json> update_status(const Resource& r, const Json& obj, const WriteOptions& o = {}) override {
    return real_.update_status(r, obj, o);
  }
  Result<Json> patch(const Resource& r, std::string_view ns, std::string_view name, const Json& p,
                     const PatchOptions& o = {}) override {
    return real_.patch(r, ns, name, p, o);
  }
  Result<Json> remove(const Resource& r, std::string_view ns, std::string_view name,
                      const DeleteOptions& o = {}) override {
    return real_.remove(r, ns, name, o);
  }
  Result<Json> create_subresource(const Resource& r, std::string_view ns, std::string_view name,
                                  std::string_view sub, const Json& body, const WriteOptions& o = {}) override {
    return real_.create_subresource(r, ns, name, sub, body, o);
  }
  Status watch(const Resource& r, std::string_view ns, const WatchOptions& o, const WatchHandler& h) override {
    {
      std::unique_lock lock(mu_);
      ++waiting_;
      while (!open_ && !(o.cancel && o.cancel->cancelled())) cv_.wait_for(lock, std::chrono::milliseconds(20));
      --waiting_;
      if (o.cancel && o.cancel->cancelled()) return Error(ErrorCode::kCancelled, "watch cancelled at the gate");
    }
    Status s = real_.watch(r, ns, o, h);
    std::lock_guard lock(mu_);
    results_.push_back(s);
    return s;
  }

 private:
  KubeClient& real_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int waiting_ = 0;
  int lists_ = 0;
  std::vector<Status> results_;
};

}  // namespace wscp::kube::testing
