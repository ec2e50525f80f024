#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace wscp::testing {

// A fresh directory under /tmp for one test's files, removed with it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/wscp-agent-test-XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace wscp::testing
