#include "podman/directory_spool.h"

#include "common/file_stream.h"

namespace wscp::podman {

Result<std::unique_ptr<ByteSink>> DirectorySpool::create(const std::string& name) {
  auto path = root_ / name;
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return Error(ErrorCode::kInternal, "cannot create directory " + path.parent_path().string() + ": " + ec.message());
  std::filesystem::permissions(root_, std::filesystem::perms::owner_all, ec);
  auto sink = FileSink::create(path);
  if (!sink.ok()) return sink.error();
  return std::unique_ptr<ByteSink>(std::move(*sink));
}

Result<std::unique_ptr<ByteSource>> DirectorySpool::open(const std::string& name) {
  auto source = FileSource::open(root_ / name);
  if (!source.ok()) return source.error();
  return std::unique_ptr<ByteSource>(std::move(*source));
}

Result<bool> DirectorySpool::exists(const std::string& name) {
  std::error_code ec;
  bool present = std::filesystem::exists(root_ / name, ec);
  if (ec) return Error(ErrorCode::kInternal, "cannot check " + (root_ / name).string() + ": " + ec.message());
  return present;
}

}  // namespace wscp::podman
