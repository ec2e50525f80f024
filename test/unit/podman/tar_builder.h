#pragma once

#include <cstdio>
#include <cstring>
#include <string>

namespace wscp::testing {

// Builds a small ustar archive in memory, for tests of tar readers.
class TarBuilder {
 public:
  TarBuilder& add(const std::string& name, const std::string& data, char type = '0') {
    std::string header(512, '\0');
    std::memcpy(header.data(), name.data(), std::min<std::size_t>(name.size(), 100));
    std::snprintf(header.data() + 100, 8, "%07o", 0600);
    std::snprintf(header.data() + 124, 12, "%011zo", data.size());
    header[156] = type;
    std::memcpy(header.data() + 257, "ustar", 5);
    out_ += header;
    out_ += data;
    out_.append((512 - data.size() % 512) % 512, '\0');
    return *this;
  }
  std::string finish() const { return out_ + std::string(1024, '\0'); }

 private:
  std::string out_;
};

}  // namespace wscp::testing
