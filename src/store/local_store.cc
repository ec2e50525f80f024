#include "store/local_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <system_error>

#include "store/crypto.h"

namespace wscp::store {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view kTempMarker = ".wscp-tmp-";

Error errno_error(const std::string& what, int err) {
  ErrorCode code = ErrorCode::kUnavailable;
  if (err == ENOENT) code = ErrorCode::kNotFound;
  if (err == EACCES || err == EPERM) code = ErrorCode::kPermissionDenied;
  if (err == ENOSPC || err == EDQUOT) code = ErrorCode::kUnavailable;
  return Error(code, what + ": " + std::strerror(err));
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// Creates missing directories 0700: archives hold process memory.
Status make_dirs(const fs::path& dir) {
  fs::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      return errno_error("cannot create directory " + partial.string(), errno);
    }
  }
  return Ok{};
}

class FileWriter : public ByteSink {
 public:
  FileWriter(fs::path target, fs::path temp, int fd) : target_(std::move(target)), temp_(std::move(temp)), fd_(fd) {}
  ~FileWriter() override {
    if (!committed_) {
      fd_.reset();
      ::unlink(temp_.c_str());
    }
  }

  Status write(std::span<const std::byte> data) override {
    if (closed_) return Error(ErrorCode::kInternal, "write after close on " + target_.string());
    while (!data.empty()) {
      ssize_t n = ::write(fd_.get(), data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_error("write " + temp_.string(), errno);
      }
      data = data.subspan(static_cast<std::size_t>(n));
    }
    return Ok{};
  }

  // Makes the written bytes durable (under the temporary name).
  Status sync() {
    if (::fsync(fd_.get()) != 0) return errno_error("fsync " + temp_.string(), errno);
    return Ok{};
  }

  Status close() override {
    if (closed_) return Error(ErrorCode::kInternal, "close called twice on " + target_.string());
    closed_ = true;
    auto st = sync();
    if (!st) return st;
    fd_.reset();
    if (::rename(temp_.c_str(), target_.c_str()) != 0) return errno_error("rename to " + target_.string(), errno);
    committed_ = true;
    // Make the rename itself durable.
    Fd dir(::open(target_.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() >= 0) ::fsync(dir.get());
    return Ok{};
  }

 private:
  fs::path target_;
  fs::path temp_;
  Fd fd_;
  bool closed_ = false;
  bool committed_ = false;
};

class FileReader : public ByteSource {
 public:
  explicit FileReader(int fd) : fd_(fd) {}
  Result<std::size_t> read(std::span<std::byte> buffer) override {
    for (;;) {
      ssize_t n = ::read(fd_.get(), buffer.data(), buffer.size());
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) return errno_error("read", errno);
    }
  }

 private:
  Fd fd_;
};

// The version of a file: changes whenever the file is replaced.
std::string etag_of(const struct stat& sb) {
  return std::to_string(sb.st_dev) + "-" + std::to_string(sb.st_ino) + "-" + std::to_string(sb.st_size) + "-" +
         std::to_string(sb.st_mtim.tv_sec) + "." + std::to_string(sb.st_mtim.tv_nsec);
}

std::chrono::system_clock::time_point mtime_of(const struct stat& sb) {
  return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::seconds(sb.st_mtim.tv_sec) + std::chrono::nanoseconds(sb.st_mtim.tv_nsec)));
}

// An exclusive lock on a directory, so that conditional operations on the
// objects in it (create_exclusive, remove_if_match) are atomic towards each
// other, also across processes.
class DirLock {
 public:
  explicit DirLock(const fs::path& dir) : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_.get() >= 0) {
      while (::flock(fd_.get(), LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }
  bool ok() const { return fd_.get() >= 0; }
  int fd() const { return fd_.get(); }

 private:
  Fd fd_;  // closing it releases the lock
};

class LocalStore : public ObjectStore {
 public:
  LocalStore(std::string root, std::function<std::chrono::system_clock::time_point()> clock)
      : root_(std::move(root)), clock_(std::move(clock)) {}

  Result<std::unique_ptr<ByteSink>> create(const std::string& key, const OperationContext&) override {
    auto temp = open_temp(key);
    if (!temp) return temp.error();
    return std::unique_ptr<ByteSink>(std::make_unique<FileWriter>(root_ / key, temp->first, temp->second));
  }

  Status create_exclusive(const std::string& key, std::string_view data, const OperationContext&) override {
    auto temp = open_temp(key);
    if (!temp) return temp.error();
    const fs::path target = root_ / key;
    FileWriter writer(target, temp->first, temp->second);
    auto st = writer.write(std::as_bytes(std::span(data.data(), data.size())));
    if (!st) return st;
    st = writer.sync();
    if (!st) return st;
    DirLock lock(target.parent_path());
    if (!lock.ok()) return errno_error("open directory of " + key, errno);
    // link() never replaces: of several creators exactly one succeeds.
    if (::link(temp->first.c_str(), target.c_str()) != 0) {
      if (errno == EEXIST) {
        return Error(ErrorCode::kConflict, "object " + key + " already exists in " + describe());
      }
      return errno_error("create " + target.string(), errno);
    }
    ::fsync(lock.fd());
    return Ok{};  // the writer removes the temporary name
  }

  Result<std::unique_ptr<ByteSource>> open(const std::string& key, const OperationContext&) override {
    auto st = validate_key(key);
    if (!st) return st.error();
    fs::path path = root_ / key;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return Error(ErrorCode::kNotFound, "object " + key + " does not exist in " + describe());
      return errno_error("open " + path.string(), errno);
    }
    return std::unique_ptr<ByteSource>(std::make_unique<FileReader>(fd));
  }

  Result<std::optional<ObjectInfo>> head(const std::string& key) override {
    auto st = validate_key(key);
    if (!st) return st.error();
    struct stat sb {};
    if (::stat((root_ / key).c_str(), &sb) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return std::optional<ObjectInfo>();
      return errno_error("stat " + key, errno);
    }
    if (!S_ISREG(sb.st_mode)) return std::optional<ObjectInfo>();
    return std::optional<ObjectInfo>(ObjectInfo{key, static_cast<std::uint64_t>(sb.st_size), etag_of(sb), mtime_of(sb)});
  }

  Result<std::vector<ObjectInfo>> list(const std::string& prefix) override {
    std::vector<ObjectInfo> out;
    // Walk only the directory the prefix names, not the whole store.
    std::string dir_part = prefix.substr(0, prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/'));
    fs::path start = dir_part.empty() ? root_ : root_ / dir_part;
    std::error_code ec;
    if (!fs::exists(start, ec)) return out;
    fs::recursive_directory_iterator it(start, ec), end;
    if (ec) return Error(ErrorCode::kUnavailable, "cannot list " + start.string() + ": " + ec.message());
    for (; it != end; it.increment(ec)) {
      if (ec) return Error(ErrorCode::kUnavailable, "cannot list " + start.string() + ": " + ec.message());
      if (!it->is_regular_file(ec)) continue;
      std::string key = fs::relative(it->path(), root_, ec).generic_string();
      if (key.find(kTempMarker) != std::string::npos) continue;
      if (key.rfind(prefix, 0) != 0) continue;
      struct stat sb {};
      if (::stat(it->path().c_str(), &sb) != 0) continue;  // removed meanwhile
      out.push_back(ObjectInfo{key, static_cast<std::uint64_t>(sb.st_size), etag_of(sb), mtime_of(sb)});
    }
    std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    return out;
  }

  Status remove(const std::string& key) override {
    auto st = validate_key(key);
    if (!st) return st;
    fs::path path = root_ / key;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error("remove " + key, errno);
    // Drop directories left empty, up to the root.
    std::error_code ec;
    for (fs::path dir = path.parent_path(); dir != root_ && dir.string().size() > root_.string().size();
         dir = dir.parent_path()) {
      if (!fs::is_empty(dir, ec) || ec) break;
      fs::remove(dir, ec);
    }
    return Ok{};
  }

  Status remove_if_match(const std::string& key, const std::string& etag) override {
    auto st = validate_key(key);
    if (!st) return st;
    const fs::path path = root_ / key;
    DirLock lock(path.parent_path());
    if (!lock.ok()) {
      if (errno == ENOENT) return Error(ErrorCode::kNotFound, "object " + key + " does not exist in " + describe());
      return errno_error("open directory of " + key, errno);
    }
    struct stat sb {};
    if (::stat(path.c_str(), &sb) != 0) {
      if (errno == ENOENT) return Error(ErrorCode::kNotFound, "object " + key + " does not exist in " + describe());
      return errno_error("stat " + key, errno);
    }
    if (etag_of(sb) != etag) {
      return Error(ErrorCode::kConflict, "object " + key + " was replaced (it is no longer version " + etag + ")");
    }
    if (::unlink(path.c_str()) != 0) return errno_error("remove " + key, errno);
    ::fsync(lock.fd());
    return Ok{};
  }

  Status replace_if_match(const std::string& key, std::string_view data, const std::string& etag,
                          const OperationContext&) override {
    auto temp = open_temp(key);
    if (!temp) return temp.error();
    const fs::path target = root_ / key;
    FileWriter writer(target, temp->first, temp->second);
    auto st = writer.write(std::as_bytes(std::span(data.data(), data.size())));
    if (!st) return st;
    st = writer.sync();
    if (!st) return st;
    DirLock lock(target.parent_path());
    if (!lock.ok()) return errno_error("open directory of " + key, errno);
    struct stat sb {};
    if (::stat(target.c_str(), &sb) != 0) {
      if (errno == ENOENT) return Error(ErrorCode::kNotFound, "object " + key + " does not exist in " + describe());
      return errno_error("stat " + key, errno);
    }
    if (etag_of(sb) != etag) {
      return Error(ErrorCode::kConflict, "object " + key + " was replaced (it is no longer version " + etag + ")");
    }
    return writer.close();  // renames over the target, fsyncs the directory
  }

  Result<std::chrono::system_clock::time_point> now() override { return clock_(); }

  bool shared() const override { return false; }

  Result<std::size_t> sweep_incomplete(std::chrono::seconds older_than) override {
    std::size_t removed = 0;
    std::error_code ec;
    if (!fs::exists(root_, ec)) return removed;
    auto now = fs::file_time_type::clock::now();
    for (fs::recursive_directory_iterator it(root_, ec), end; it != end; it.increment(ec)) {
      if (ec) break;
      if (!it->is_regular_file(ec)) continue;
      if (it->path().filename().string().find(kTempMarker) == std::string::npos) continue;
      if (now - it->last_write_time(ec) < older_than) continue;
      if (fs::remove(it->path(), ec)) ++removed;
    }
    if (ec) return Error(ErrorCode::kUnavailable, "sweep of " + root_.string() + ": " + ec.message());
    return removed;
  }

  std::string describe() const override { return "file://" + root_.string(); }

 private:
  // A new temporary file beside the object `key` will become.
  Result<std::pair<fs::path, int>> open_temp(const std::string& key) {
    auto st = validate_key(key);
    if (!st) return st.error();
    if (key.find(kTempMarker) != std::string::npos) {
      return Error(ErrorCode::kInvalidArgument, "object key '" + key + "' contains '" + std::string(kTempMarker) +
                                                    "', which marks unfinished writes");
    }
    fs::path target = root_ / key;
    st = make_dirs(target.parent_path());
    if (!st) return st.error();
    fs::path temp = target;
    temp += std::string(kTempMarker) + random_hex(8);
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == ENOENT) {
      // A concurrent remove() pruned the directory just made: make it again.
      st = make_dirs(target.parent_path());
      if (!st) return st.error();
      fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    }
    if (fd < 0) return errno_error("create " + temp.string(), errno);
    return std::pair{temp, fd};
  }

  fs::path root_;
  std::function<std::chrono::system_clock::time_point()> clock_;
};

}  // namespace

std::unique_ptr<ObjectStore> make_local_store(std::string root,
                                              std::function<std::chrono::system_clock::time_point()> clock) {
  if (!clock) clock = &std::chrono::system_clock::now;
  return std::make_unique<LocalStore>(std::move(root), std::move(clock));
}

}  // namespace wscp::store
