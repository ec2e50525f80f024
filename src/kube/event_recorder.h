#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <list>
#include <mutex>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "kube/kube_client.h"

namespace wscp::kube {

// The object an Event is about (events.k8s.io/v1 "regarding").
struct ObjectReference {
  std::string api_version;
  std::string kind;
  std::string ns;
  std::string name;
  std::string uid;

  static ObjectReference of(const Resource& r, const Json& object);
  Json to_json() const;
};

enum class EventType { kNormal, kWarning };

// Records Kubernetes Events about objects; an interface so that controller
// logic can be tested with a fake.
class EventRecorder {
 public:
  virtual ~EventRecorder() = default;
  // reason: CamelCase, why ("CheckpointFailed"); action: what was done
  // ("Checkpoint"); note: for humans (cut to 1 kB).
  virtual Status record(const ObjectReference& regarding, EventType type, std::string_view reason,
                        std::string_view action, std::string_view note) = 0;
};

struct EventRecorderConfig {
  std::string reporting_controller = "wscp.dev/controller";  // a qualified name
  std::string reporting_instance;                            // this process (pod name); required
  // The same event again within this time (since its last occurrence)
  // updates the existing Event's series instead of creating another.
  std::chrono::milliseconds dedup_window{6 * 60 * 1000};
  std::size_t max_tracked = 4096;  // series remembered at most (the oldest are forgotten)
};

// EventRecorder on events.k8s.io/v1. The same regarding + type + reason +
// action + note within the window is one Event whose series.count grows.
// Thread-safe; calls are made while holding its lock, so events of one
// series are never created twice.
class KubeEventRecorder final : public EventRecorder {
 public:
  KubeEventRecorder(KubeClient& client, EventRecorderConfig config, std::shared_ptr<Clock> clock = system_clock());

  Status record(const ObjectReference& regarding, EventType type, std::string_view reason, std::string_view action,
                std::string_view note) override;

 private:
  struct Series {
    std::string ns;
    std::string name;
    int count = 1;
    Clock::time_point last;
    std::list<std::string>::iterator in_order;  // its place in order_
  };
  // Drops the series past the window, from the front of order_ (the least
  // recently used first), so a record costs O(log n).
  void forget_old(Clock::time_point now);
  // Remembers (or refreshes) a series as the most recently used; a new one
  // beyond max_tracked pushes out the least recently used.
  void remember(const std::string& key, const std::string& ns, const std::string& name, int count,
                Clock::time_point now);
  // Wall-clock nanoseconds, made unique: two Events in the same nanosecond
  // would get the same name.
  std::uint64_t next_stamp(std::chrono::system_clock::time_point wall);

  KubeClient& client_;
  EventRecorderConfig config_;
  std::shared_ptr<Clock> clock_;
  std::mutex mu_;
  std::map<std::string, Series> series_;
  std::list<std::string> order_;  // series_ keys, least recently used first
  std::uint64_t last_stamp_ = 0;
};

}  // namespace wscp::kube
