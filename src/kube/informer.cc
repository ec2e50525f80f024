#include "kube/informer.h"

#include "kube/object.h"

namespace wscp::kube {

// The Watcher's consumer: writes the cache (on the watch thread) and queues
// what changed for the handler thread.
class Informer::Feed final : public WatchConsumer {
 public:
  explicit Feed(Informer& informer) : informer_(informer) {}

  void replace(std::vector<Json> items, const std::string&) override {
    std::vector<Item> queued;
    for (auto& c : informer_.cache_.replace(std::move(items))) queued.push_back({std::move(c)});
    bool first = false;
    {
      std::lock_guard lock(informer_.mu_);
      first = !std::exchange(informer_.listed_once_, true);
    }
    if (first) queued.push_back({std::nullopt});
    informer_.push(std::move(queued));
  }

  void apply(const WatchEvent& event) override {
    if (auto c = informer_.cache_.apply(event)) informer_.push({{std::move(*c)}});
  }

  void failed(const Error& error) override {
    std::lock_guard lock(informer_.mu_);
    informer_.last_error_ = error;
  }

 private:
  Informer& informer_;
};

Informer::Informer(KubeClient& client, Resource resource, std::string ns, InformerOptions options,
                   std::shared_ptr<Clock> clock)
    : client_(client),
      resource_(std::move(resource)),
      ns_(std::move(ns)),
      options_(std::move(options)),
      clock_(std::move(clock)) {}

Informer::~Informer() { stop(); }

void Informer::add_handlers(InformerHandlers handlers) { handlers_.push_back(std::move(handlers)); }

void Informer::start() {
  if (watch_thread_.joinable()) return;
  dispatch_thread_ = std::thread([this] { dispatch_loop(); });
  watch_thread_ = std::thread([this] {
    Feed feed(*this);
    Watcher watcher(client_, resource_, ns_, options_.watch, clock_);
    (void)watcher.run(cancel_, feed);
  });
}

void Informer::stop() {
  cancel_.cancel();
  if (watch_thread_.joinable()) watch_thread_.join();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (dispatch_thread_.joinable()) dispatch_thread_.join();
}

void Informer::push(std::vector<Item> items) {
  if (items.empty()) return;
  {
    std::lock_guard lock(mu_);
    for (auto& i : items) queue_.push_back(std::move(i));
  }
  cv_.notify_all();
}

void Informer::deliver(const CacheChange& c) {
  for (const auto& h : handlers_) {
    switch (c.kind) {
      case CacheChange::Kind::kAdd:
        if (h.on_add) h.on_add(c.object);
        break;
      case CacheChange::Kind::kUpdate:
        if (h.on_update) h.on_update(c.old_object, c.object);
        break;
      case CacheChange::Kind::kDelete:
        if (h.on_delete) h.on_delete(c.old_object);
        break;
    }
  }
}

void Informer::dispatch_loop() {
  using steady = std::chrono::steady_clock;
  const bool resync = options_.resync_period.count() > 0;
  auto next_resync = steady::now() + options_.resync_period;
  std::unique_lock lock(mu_);
  for (;;) {
    if (resync) {
      cv_.wait_until(lock, next_resync, [this] { return stopping_ || !queue_.empty(); });
    } else {
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    }
    if (stopping_) return;
    if (!queue_.empty()) {
      Item item = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      if (item.change) deliver(*item.change);
      lock.lock();
      if (!item.change) {
        synced_ = true;
        cv_.notify_all();
      }
      continue;
    }
    if (resync && steady::now() >= next_resync) {
      next_resync = steady::now() + options_.resync_period;
      if (!synced_) continue;
      lock.unlock();
      for (const auto& object : cache_.list()) deliver({CacheChange::Kind::kUpdate, object, object});
      lock.lock();
    }
  }
}

bool Informer::has_synced() const {
  std::lock_guard lock(mu_);
  return synced_;
}

bool Informer::wait_for_sync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return synced_ || stopping_; }) && synced_;
}

std::optional<Json> Informer::get(std::string_view ns, std::string_view name) const {
  return cache_.get(object_key(resource_.namespaced ? ns : std::string_view(), name));
}

std::vector<Json> Informer::list() const { return cache_.list(); }

std::optional<Error> Informer::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

}  // namespace wscp::kube
