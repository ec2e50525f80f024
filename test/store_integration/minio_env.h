#pragma once

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "http/client.h"
#include "store/crypto.h"
#include "store/s3/s3_client.h"
#include "store/s3/s3_store.h"

namespace wscp::store::testing {

// The MinIO server the "minio" ctest fixture started (test/store_integration/
// minio.sh). Missing server = failed test, never a skip.
class Minio {
 public:
  Minio() {
    const char* state = std::getenv("WSCP_MINIO_STATE");
    const char* ctl = std::getenv("WSCP_MINIO_CTL");
    if (state == nullptr || ctl == nullptr) {
      throw std::runtime_error("WSCP_MINIO_STATE/WSCP_MINIO_CTL are not set: run through ctest (fixture 'minio')");
    }
    state_ = state;
    ctl_ = ctl;
    std::ifstream in(state_ + "/env");
    if (!in) throw std::runtime_error("no MinIO is running: " + state_ + "/env is missing");
    std::string line;
    while (std::getline(in, line)) {
      auto eq = line.find('=');
      if (eq != std::string::npos) env_[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }

  s3::S3Config config(const std::string& bucket) const {
    s3::S3Config c;
    c.bucket = bucket;
    c.prefix = "wscp-test";
    c.endpoint = env_.at("WSCP_S3_ENDPOINT");
    c.path_style = true;
    c.part_size = 5ull << 20;
    c.concurrency = 3;
    c.retry.max_attempts = 4;
    c.retry.base_delay = std::chrono::milliseconds(100);
    c.retry.max_delay = std::chrono::milliseconds(1000);
    c.stall_timeout = std::chrono::milliseconds(10'000);
    return c;
  }
  s3::Credentials credentials() const {
    return {env_.at("WSCP_S3_ACCESS_KEY"), env_.at("WSCP_S3_SECRET_KEY"), ""};
  }

  std::shared_ptr<s3::S3Client> client(const s3::S3Config& c, s3::Credentials creds) const {
    std::shared_ptr<http::Client> http(http::make_curl_client({}));
    return std::make_shared<s3::S3Client>(c, std::move(creds), http);
  }
  std::shared_ptr<s3::S3Client> client(const s3::S3Config& c) const { return client(c, credentials()); }

  // A fresh bucket per test, so tests do not see each other's objects.
  std::string make_bucket(const std::string& stem) const {
    std::string bucket = stem + "-" + random_hex(4);
    auto c = client(config(bucket));
    s3::S3Call call;
    call.method = "PUT";
    call.what = "create bucket " + bucket;
    auto r = c->call(call);
    if (!r) throw std::runtime_error(r.error().describe());
    return bucket;
  }

  void stop() const { run("stop"); }
  void start() const { run("start"); }

 private:
  void run(const std::string& verb) const {
    std::string cmd = "'" + ctl_ + "' " + verb + " '" + state_ + "'";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  }

  std::string state_;
  std::string ctl_;
  std::map<std::string, std::string> env_;
};

}  // namespace wscp::store::testing
