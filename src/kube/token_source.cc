#include "kube/token_source.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace wscp::kube {

TokenSource::TokenSource(std::string token) : token_(std::move(token)) {}

TokenSource::TokenSource(std::string file, std::shared_ptr<Clock> clock, std::chrono::milliseconds refresh_interval)
    : file_(std::move(file)), clock_(std::move(clock)), refresh_interval_(refresh_interval) {}

Result<TokenSource::Stamp> TokenSource::stat_file() const {
  struct stat st {};
  if (::stat(file_.c_str(), &st) != 0) {
    return Error(ErrorCode::kPermissionDenied, "token file " + file_ + ": " + std::strerror(errno));
  }
  Stamp s;
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  s.size = static_cast<std::uint64_t>(st.st_size);
  s.inode = static_cast<std::uint64_t>(st.st_ino);
  return s;
}

Result<std::string> TokenSource::token() {
  std::lock_guard lock(mu_);
  if (file_.empty()) return token_;
  auto stamp = stat_file();
  if (!stamp) return stamp.error();
  const auto now = clock_->now();
  const bool fresh = stamp_ && *stamp_ == *stamp && now - read_at_ < refresh_interval_;
  if (fresh) return token_;

  std::ifstream in(file_);
  if (!in) return Error(ErrorCode::kPermissionDenied, "token file " + file_ + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) return Error(ErrorCode::kPermissionDenied, "token file " + file_ + " is empty");
  if (token.find_first_of("\r\n") != std::string::npos) {
    return Error(ErrorCode::kPermissionDenied, "token file " + file_ + " holds more than one line; expected one token");
  }
  token_ = std::move(token);
  stamp_ = *stamp;
  read_at_ = now;
  return token_;
}

void TokenSource::invalidate() {
  std::lock_guard lock(mu_);
  stamp_.reset();
}

}  // namespace wscp::kube
