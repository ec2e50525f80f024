#pragma once

#include <filesystem>
#include <memory>

#include "common/result.h"
#include "common/stream.h"
#include "common/unique_fd.h"

namespace wscp {

// Reads a file from start to end.
class FileSource final : public ByteSource {
 public:
  static Result<std::unique_ptr<FileSource>> open(const std::filesystem::path& path);
  Result<std::size_t> read(std::span<std::byte> buffer) override;

 private:
  FileSource(UniqueFd fd, std::filesystem::path path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::filesystem::path path_;
};

// Writes a file atomically: the data goes to a temporary file (mode 0600,
// archives hold process memory) beside the target, which close() syncs and
// renames into place. Destroyed without close(), it removes the temporary.
class FileSink final : public ByteSink {
 public:
  static Result<std::unique_ptr<FileSink>> create(const std::filesystem::path& path);
  ~FileSink() override;
  Status write(std::span<const std::byte> data) override;
  Status close() override;

 private:
  FileSink(UniqueFd fd, std::filesystem::path path, std::filesystem::path temp)
      : fd_(std::move(fd)), path_(std::move(path)), temp_(std::move(temp)) {}
  UniqueFd fd_;
  std::filesystem::path path_;
  std::filesystem::path temp_;
  bool closed_ = false;
};

// Copies a source into a sink with a bounded buffer, without closing the sink.
Result<std::uint64_t> copy_stream(ByteSource& from, ByteSink& to);

}  // namespace wscp
