#include "common/file_stream.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <random>

namespace wscp {
namespace {

Error errno_error(const std::string& what, const std::filesystem::path& path) {
  int err = errno;
  ErrorCode code = ErrorCode::kInternal;
  if (err == ENOENT) code = ErrorCode::kNotFound;
  else if (err == EACCES || err == EPERM) code = ErrorCode::kPermissionDenied;
  return Error(code, what + " " + path.string() + ": " + std::strerror(err));
}

std::filesystem::path temp_name_for(const std::filesystem::path& path) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return path.parent_path() / ("." + path.filename().string() + ".tmp-" + std::to_string(rng() % 1000000000));
}

}  // namespace

Result<std::unique_ptr<FileSource>> FileSource::open(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("cannot open", path);
  return std::unique_ptr<FileSource>(new FileSource(std::move(fd), path));
}

Result<std::size_t> FileSource::read(std::span<std::byte> buffer) {
  for (;;) {
    ssize_t n = ::read(fd_.get(), buffer.data(), buffer.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return errno_error("cannot read", path_);
  }
}

Result<std::unique_ptr<FileSink>> FileSink::create(const std::filesystem::path& path) {
  auto temp = temp_name_for(path);
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return errno_error("cannot create", temp);
  return std::unique_ptr<FileSink>(new FileSink(std::move(fd), path, std::move(temp)));
}

FileSink::~FileSink() {
  if (!closed_) {
    fd_.reset();
    ::unlink(temp_.c_str());
  }
}

Status FileSink::write(std::span<const std::byte> data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_.get(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("cannot write", temp_);
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return Ok{};
}

Status FileSink::close() {
  if (::fsync(fd_.get()) != 0) return errno_error("cannot sync", temp_);
  if (::close(fd_.release()) != 0) return errno_error("cannot close", temp_);
  if (::rename(temp_.c_str(), path_.c_str()) != 0) return errno_error("cannot rename into", path_);
  closed_ = true;
  return Ok{};
}

Result<std::uint64_t> copy_stream(ByteSource& from, ByteSink& to) {
  std::array<std::byte, 256 * 1024> buffer;
  std::uint64_t total = 0;
  for (;;) {
    auto n = from.read(buffer);
    if (!n.ok()) return n.error();
    if (*n == 0) return total;
    if (auto s = to.write(std::span(buffer.data(), *n)); !s.ok()) return s.error();
    total += *n;
  }
}

}  // namespace wscp
