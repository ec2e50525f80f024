#include "store/s3/credentials.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace wscp::store::s3 {
namespace {

std::string trim(std::string s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.back())) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && space(s[i])) ++i;
  return s.substr(i);
}

std::optional<std::string> read_trimmed(const std::filesystem::path& p) {
  std::ifstream in(p);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return trim(s.str());
}

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

Result<Credentials> read_credentials_file(const std::string& path, const std::string& profile) {
  std::ifstream in(path);
  if (!in) return Error(ErrorCode::kNotFound, "cannot read the AWS credentials file " + path);
  Credentials c;
  std::string line;
  bool in_profile = false;
  bool found = false;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      in_profile = trim(line.substr(1, line.size() - 2)) == profile;
      found = found || in_profile;
      continue;
    }
    if (!in_profile) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string k = trim(line.substr(0, eq));
    std::string v = trim(line.substr(eq + 1));
    if (k == "aws_access_key_id") c.access_key_id = v;
    if (k == "aws_secret_access_key") c.secret_access_key = v;
    if (k == "aws_session_token") c.session_token = v;
  }
  if (!found) return Error(ErrorCode::kNotFound, "profile [" + profile + "] is not in " + path);
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return Error(ErrorCode::kInvalidArgument, "profile [" + profile + "] in " + path +
                                                  " lacks aws_access_key_id or aws_secret_access_key");
  }
  return c;
}

Result<Credentials> resolve_credentials(const std::string& directory, const GetEnv& env) {
  if (!directory.empty()) {
    namespace fs = std::filesystem;
    auto first = [&](std::initializer_list<const char*> names) -> std::optional<std::string> {
      for (const char* n : names) {
        if (auto v = read_trimmed(fs::path(directory) / n)) return v;
      }
      return std::nullopt;
    };
    auto id = first({"AWS_ACCESS_KEY_ID", "access_key_id", "accesskey"});
    auto secret = first({"AWS_SECRET_ACCESS_KEY", "secret_access_key", "secretkey"});
    if (!id || !secret) {
      return Error(ErrorCode::kNotFound, "credentials directory " + directory +
                                             " must hold AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY files");
    }
    return Credentials{*id, *secret, first({"AWS_SESSION_TOKEN", "session_token"}).value_or("")};
  }
  auto id = env("AWS_ACCESS_KEY_ID");
  auto secret = env("AWS_SECRET_ACCESS_KEY");
  if (id && secret) return Credentials{*id, *secret, env("AWS_SESSION_TOKEN").value_or("")};
  std::string file;
  if (auto f = env("AWS_SHARED_CREDENTIALS_FILE")) {
    file = *f;
  } else if (auto home = env("HOME")) {
    file = *home + "/.aws/credentials";
  }
  if (!file.empty() && std::filesystem::exists(file)) {
    return read_credentials_file(file, env("AWS_PROFILE").value_or("default"));
  }
  return Error(ErrorCode::kPermissionDenied,
               "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, provide ~/.aws/credentials "
               "(or AWS_SHARED_CREDENTIALS_FILE), or mount a Secret directory");
}

}  // namespace wscp::store::s3
