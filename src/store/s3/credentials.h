#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/result.h"

namespace wscp::store::s3 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
};

using GetEnv = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> process_env(const std::string& name);

// Where credentials come from, first match wins:
//  1. `directory` (a mounted Kubernetes Secret): files named
//     AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, or
//     access_key_id / secret_access_key / session_token;
//  2. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
//  3. the shared credentials file (AWS_SHARED_CREDENTIALS_FILE or
//     ~/.aws/credentials), profile AWS_PROFILE or "default".
Result<Credentials> resolve_credentials(const std::string& directory, const GetEnv& env = process_env);

// Reads one profile of an AWS credentials (INI) file.
Result<Credentials> read_credentials_file(const std::string& path, const std::string& profile);

}  // namespace wscp::store::s3
