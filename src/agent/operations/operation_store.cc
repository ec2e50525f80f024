#include "agent/operations/operation_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/unique_fd.h"

namespace wscp::agent::operations {

namespace fs = std::filesystem;

namespace {

Error io_error(const std::string& what, const fs::path& path, int err) {
  return Error(ErrorCode::kUnavailable, what + " " + path.string() + ": " + std::strerror(err));
}

Status write_all(int fd, const std::string& text, const fs::path& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write", path, errno);
    }
    done += static_cast<std::size_t>(n);
  }
  return Ok{};
}

}  // namespace

Result<std::unique_ptr<DirectoryOperationStore>> DirectoryOperationStore::open(fs::path dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return Error(ErrorCode::kUnavailable, "cannot create the operations directory " + dir.string() + ": " +
                                              ec.message() + " (check the journal directory's owner and mode)");
  if (::chmod(dir.c_str(), 0700) != 0) return io_error("cannot make 0700", dir, errno);
  return std::unique_ptr<DirectoryOperationStore>(new DirectoryOperationStore(std::move(dir)));
}

Status DirectoryOperationStore::save(const Operation& op) {
  if (auto s = validate_operation_id(op.id); !s) return s;
  const fs::path final_path = dir_ / (op.id + ".json");
  const fs::path tmp = dir_ / ("." + op.id + ".json.tmp");
  const std::string text = to_json(op).dump(2) + "\n";
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.valid()) return io_error("cannot create", tmp, errno);
    if (auto s = write_all(fd.get(), text, tmp); !s) return s;
    if (::fsync(fd.get()) != 0) return io_error("cannot fsync", tmp, errno);
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) return io_error("cannot rename into", final_path, errno);
  UniqueFd dfd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid() || ::fsync(dfd.get()) != 0) return io_error("cannot fsync the directory", dir_, errno);
  return Ok{};
}

Result<Operation> DirectoryOperationStore::read(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return io_error("cannot read", path, errno);
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded())
    return Error(ErrorCode::kIntegrity, "operation record " + path.string() +
                                            " is not JSON; move it aside to let the agent start");
  auto op = operation_from_json(j);
  if (!op)
    return Error(ErrorCode::kIntegrity,
                 "operation record " + path.string() + " is invalid: " + op.error().message());
  return op;
}

Result<std::optional<Operation>> DirectoryOperationStore::load(std::string_view id) {
  if (auto s = validate_operation_id(id); !s) return s.error();
  const fs::path path = dir_ / (std::string(id) + ".json");
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::optional<Operation>{};
  auto op = read(path);
  if (!op) return op.error();
  return std::optional<Operation>(std::move(*op));
}

Status DirectoryOperationStore::remove(std::string_view id) {
  if (auto s = validate_operation_id(id); !s) return s.error();
  const fs::path path = dir_ / (std::string(id) + ".json");
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return Ok{};
    return io_error("cannot remove", path, errno);
  }
  UniqueFd dfd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid() || ::fsync(dfd.get()) != 0) return io_error("cannot fsync the directory", dir_, errno);
  return Ok{};
}

Result<std::vector<Operation>> DirectoryOperationStore::load_all() {
  std::vector<Operation> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const auto name = entry.path().filename().string();
    if (name.starts_with(".") || entry.path().extension() != ".json") continue;
    auto op = read(entry.path());
    if (!op) return op.error();
    out.push_back(std::move(*op));
  }
  if (ec) return Error(ErrorCode::kUnavailable, "cannot list " + dir_.string() + ": " + ec.message());
  return out;
}

}  // namespace wscp::agent::operations
