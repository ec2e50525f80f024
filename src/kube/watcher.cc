#include "kube/watcher.h"

#include <random>

#include "kube/object.h"
#include "kube/wait.h"

namespace wscp::kube {
namespace {

double random01() {
  thread_local std::mt19937 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

Error cancelled(const Resource& r) {
  return Error(ErrorCode::kCancelled, "watch " + r.qualified_name() + ": stopped");
}

}  // namespace

Watcher::Watcher(KubeClient& client, Resource resource, std::string ns, WatcherOptions options,
                 std::shared_ptr<Clock> clock)
    : client_(client),
      resource_(std::move(resource)),
      ns_(std::move(ns)),
      options_(std::move(options)),
      clock_(std::move(clock)),
      state_(options_.backoff, &random01) {}

Status Watcher::run(const CancelToken& cancel, WatchConsumer& consumer) {
  while (!cancel.cancelled()) {
    const WatchState::Action next = state_.next();
    if (next.delay.count() > 0 && !sleep_unless_cancelled(*clock_, next.delay, cancel)) break;
    if (next.step == WatchState::Step::kList) {
      Status s = list(cancel, consumer);
      if (cancel.cancelled()) break;
      if (!s) {
        consumer.failed(s.error());
        state_.list_failed(s.error());
      }
    } else {
      Status s = watch(cancel, consumer, next.resource_version);
      if (cancel.cancelled()) break;
      if (!s) consumer.failed(s.error());
      state_.watch_ended(s);
    }
  }
  return cancelled(resource_);
}

Status Watcher::list(const CancelToken& cancel, WatchConsumer& consumer) {
  ListOptions o;
  o.label_selector = options_.label_selector;
  o.field_selector = options_.field_selector;
  o.limit = options_.page_size;
  o.cancel = &cancel;
  auto all = list_all(client_, resource_, ns_, o);
  if (!all) return all.error();
  const std::string rv = all->resource_version;
  consumer.replace(std::move(all->items), rv);
  state_.list_succeeded(rv);
  return Ok{};
}

Status Watcher::watch(const CancelToken& cancel, WatchConsumer& consumer, const std::string& from) {
  WatchOptions o;
  o.label_selector = options_.label_selector;
  o.field_selector = options_.field_selector;
  o.resource_version = from;
  o.allow_bookmarks = true;
  o.timeout_seconds = options_.watch_timeout_seconds;
  o.cancel = &cancel;
  return client_.watch(resource_, ns_, o, [&](const WatchEvent& e) -> Status {
    if (e.type != WatchEventType::kBookmark) consumer.apply(e);
    state_.event_received(e.type, resource_version_of(e.object));
    return Ok{};
  });
}

}  // namespace wscp::kube
