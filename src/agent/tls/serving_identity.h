#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace wscp::agent::tls {

struct ServingIdentityOptions {
  std::string key_path;   // written 0600 when made
  std::string cert_path;  // written 0644 when made
  // Sign with this CA (both set), or self-sign (neither): then clients pin
  // the published public key.
  std::string signing_ca_cert_path;
  std::string signing_ca_key_path;
  std::string common_name;         // the node's name
  std::vector<std::string> names;  // subjectAltName: DNS names and IP addresses clients use
  std::chrono::hours validity{24 * 365};
  std::chrono::hours renew_before{24 * 30};
};

// The agent's own TLS identity for its API. The key never leaves the node.
struct ServingIdentity {
  std::string key_path;
  std::string cert_path;
  std::string cert_pem;
  std::string certificate_sha256;  // "ab:cd:..." of the certificate
  std::string public_key_pin;      // "sha256//BASE64" of its public key: what the controller pins
  std::chrono::system_clock::time_point not_after;
  bool key_created = false;
  bool cert_created = false;
};

// Loads the serving key and certificate, or makes what is missing or no
// longer fit: an EC P-256 key when there is none (an existing key is kept,
// so that its pin survives certificate renewals), and a certificate when
// there is none, or it does not match the key, expires within
// renew_before, lacks one of the names, or was not signed by the
// configured CA. Files are written whole (temporary file, fsync, rename); a
// key file readable by others is refused, naming the fix.
Result<ServingIdentity> ensure_serving_identity(const ServingIdentityOptions& options, const Clock& clock);

}  // namespace wscp::agent::tls
