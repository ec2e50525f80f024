#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/result.h"

namespace wscp::kube {

// The bearer token of every request. A token file (a service account's
// projected token, which the kubelet rotates) is re-read when its
// modification time, size or inode changes, at least every refresh_interval,
// and after invalidate() (the client calls it on a 401). Thread-safe.
class TokenSource {
 public:
  static constexpr std::chrono::seconds kRefreshInterval{60};

  // A fixed token.
  explicit TokenSource(std::string token);
  // A file holding the token.
  TokenSource(std::string file, std::shared_ptr<Clock> clock,
              std::chrono::milliseconds refresh_interval = kRefreshInterval);

  // The current token ("" when there is none). Errors name the file.
  Result<std::string> token();
  // Forget the cached token: the next token() reads the file again.
  void invalidate();
  // Whether re-reading could give another token (there is a file).
  bool refreshable() const { return !file_.empty(); }
  const std::string& file() const { return file_; }

 private:
  struct Stamp {
    std::int64_t mtime_ns = 0;
    std::uint64_t size = 0;
    std::uint64_t inode = 0;
    bool operator==(const Stamp&) const = default;
  };
  Result<Stamp> stat_file() const;

  std::mutex mu_;
  std::string token_;
  std::string file_;
  std::shared_ptr<Clock> clock_;
  std::chrono::milliseconds refresh_interval_{kRefreshInterval};
  std::optional<Stamp> stamp_;
  Clock::time_point read_at_{};
};

}  // namespace wscp::kube
