// Moves one archive through the store pipeline and reports time and peak
// memory, for bench/store-vs-awscli.
//   wscp-store-bench upload   STORE_URL FILE [--compression zstd|none] [--level N] [--raw-window BYTES]
//                             [--key KEYFILE]
//                             [--layout segments|single] [--segment-mib N] [--uploads N]
//   wscp-store-bench download STORE_URL [--key KEYFILE] [--read-ahead N]
// (--uploads: segments committed at once; --read-ahead: segments fetched
// ahead; defaults: PipelineOptions'.)
// upload stores FILE as checkpoint "bench" of workspace "bench"; download
// reads it back through every verification and discards it.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "store/checkpoint_store.h"
#include "store/store_url.h"

using namespace wscp;
using namespace wscp::store;

namespace {

class FdSource : public ByteSource {
 public:
  explicit FdSource(int fd) : fd_(fd) {}
  ~FdSource() override { ::close(fd_); }
  Result<std::size_t> read(std::span<std::byte> buffer) override {
    ssize_t n = ::read(fd_, buffer.data(), buffer.size());
    if (n < 0) return Error(ErrorCode::kUnavailable, "read failed");
    return static_cast<std::size_t>(n);
  }

 private:
  int fd_;
};

std::uint64_t peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) / 1024;
  }
  return 0;
}

int fail(const std::string& what) {
  std::cerr << "wscp-store-bench: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    return fail("usage: upload STORE_URL FILE [--compression c] [--level n] [--key f] [--layout l] [--segment-mib n] "
                "[--uploads n] | "
                "download STORE_URL [--key f] [--read-ahead n]");
  }
  std::string mode = argv[1];
  std::string url = argv[2];
  std::string file;
  int next = 3;
  if (mode == "upload") {
    if (argc < 4) return fail("upload needs a FILE");
    file = argv[3];
    next = 4;
  }
  CheckpointStoreOptions options;
  options.pipeline.compression = {Compression::kZstd, 3, 2};
  // Measures the pipeline on a private bucket: rows without --key run
  // unauthenticated on purpose.
  options.allow_unauthenticated_shared_store = true;
  for (int i = next; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--compression") {
      auto c = parse_compression(value);
      if (!c) return fail(c.error().describe());
      options.pipeline.compression.algorithm = *c;
    } else if (flag == "--level") {
      options.pipeline.compression.level = std::stoi(value);
    } else if (flag == "--raw-window") {
      // 0: compress every window, even incompressible ones (to compare).
      options.pipeline.compression.raw_window = std::stoull(value);
    } else if (flag == "--layout") {
      // "single": one multipart object per archive (manifest version 1),
      // to compare with segments on the same machine and run.
      if (value != "single" && value != "segments") return fail("--layout is single or segments");
      options.pipeline.segmented = value == "segments";
    } else if (flag == "--segment-mib") {
      options.pipeline.segment_size = std::stoull(value) << 20;
    } else if (flag == "--uploads") {
      options.pipeline.segment_uploads_in_flight = static_cast<unsigned>(std::stoul(value));
    } else if (flag == "--read-ahead") {
      options.pipeline.segment_read_ahead = static_cast<unsigned>(std::stoul(value));
    } else if (flag == "--key") {
      auto k = load_key_file(value);
      if (!k) return fail(k.error().describe());
      options.pipeline.encryption_key = *k;
    } else {
      return fail("unknown option " + flag);
    }
  }
  auto objects = open_object_store(url);
  if (!objects) return fail(objects.error().describe());
  CheckpointStore store(**objects, options);
  OperationContext ctx;
  auto start = std::chrono::steady_clock::now();
  std::uint64_t plain = 0;
  std::uint64_t stored = 0;
  if (mode == "upload") {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail("cannot open " + file);
    FdSource src(fd);
    auto a = store.put_archive("bench", "bench", "archive", src, ctx);
    if (!a) return fail(a.error().describe());
    Manifest m;
    m.workspace_id = "bench";
    m.checkpoint_id = "bench";
    m.node = "bench";
    m.created_at = format_rfc3339(std::chrono::system_clock::now());
    m.containers.push_back(ContainerEntry{"archive", "", *a, {}});
    auto st = store.write_manifest(m, ctx);
    if (!st) return fail(st.error().describe());
    plain = a->plain_size;
    stored = a->stored.size;
  } else if (mode == "download") {
    auto m = store.read_manifest("bench", "bench", ctx);
    if (!m) return fail(m.error().describe());
    auto src = store.open_archive(m->containers.at(0).archive, ctx);
    if (!src) return fail(src.error().describe());
    std::vector<std::byte> buf(1 << 20);
    for (;;) {
      auto n = (*src)->read(buf);
      if (!n) return fail(n.error().describe());
      if (*n == 0) break;
      plain += *n;
    }
    stored = m->containers.at(0).archive.stored.size;
  } else {
    return fail("unknown mode " + mode);
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s plain_mib=%.1f stored_mib=%.1f seconds=%.2f mib_per_s=%.1f peak_rss_mib=%llu\n", mode.c_str(),
              static_cast<double>(plain) / 1048576.0, static_cast<double>(stored) / 1048576.0, seconds,
              static_cast<double>(plain) / 1048576.0 / seconds, static_cast<unsigned long long>(peak_rss_mib()));
  return 0;
}
