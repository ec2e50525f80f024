#include "agent/tls/serving_identity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "agent/tls/certificate.h"
#include "common/unique_fd.h"

namespace wscp::agent::tls {
namespace {

namespace fs = std::filesystem;

// The file's text, nullopt when it does not exist.
Result<std::optional<std::string>> read_optional(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Error(ErrorCode::kUnavailable, "cannot read " + path + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return std::optional<std::string>(text.str());
}

Result<std::string> read_required(const std::string& path, std::string_view what) {
  auto text = read_optional(path);
  if (!text) return text.error();
  if (!*text) return Error(ErrorCode::kNotFound, std::string(what) + " " + path + " does not exist");
  return std::move(**text);
}

// Writes the whole file or nothing: a temporary file beside it, fsync, rename.
Status write_atomically(const std::string& path, const std::string& content, mode_t mode) {
  const fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path() && !fs::exists(target.parent_path(), ec)) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) return Error(ErrorCode::kUnavailable, "cannot create " + target.parent_path().string() + ": " + ec.message());
    ::chmod(target.parent_path().c_str(), 0700);
  }
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) return Error(ErrorCode::kUnavailable, "cannot create " + tmp + ": " + std::strerror(errno));
  ::fchmod(fd.get(), mode);  // whatever the umask says
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::unlink(tmp.c_str());
      return Error(ErrorCode::kUnavailable, "cannot write " + tmp + ": " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Error(ErrorCode::kUnavailable, "cannot write " + path + ": " + std::strerror(err));
  }
  return Ok{};
}

Status check_key_mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Error(ErrorCode::kUnavailable, "cannot stat " + path + ": " + std::strerror(errno));
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    return Error(ErrorCode::kPermissionDenied, "serving key " + path + " is open to other users (mode " + mode +
                                                   "): run chmod 600 " + path +
                                                   ", or delete it to have a new key made");
  }
  return Ok{};
}

}  // namespace

Result<ServingIdentity> ensure_serving_identity(const ServingIdentityOptions& o, const Clock& clock) {
  if (o.key_path.empty() || o.cert_path.empty()) {
    return Error(ErrorCode::kInvalidArgument, "the serving key and certificate paths must be set");
  }
  if (o.signing_ca_cert_path.empty() != o.signing_ca_key_path.empty()) {
    return Error(ErrorCode::kInvalidArgument, "a signing CA needs both its certificate and its key");
  }
  ServingIdentity id;
  id.key_path = o.key_path;
  id.cert_path = o.cert_path;

  // The signing CA, if any.
  CertPtr ca_cert;
  KeyPtr ca_key;
  if (!o.signing_ca_cert_path.empty()) {
    auto pem = read_required(o.signing_ca_cert_path, "signing CA certificate");
    if (!pem) return pem.error();
    auto c = parse_certificate(*pem);
    if (!c) return c.error().wrap("signing CA certificate " + o.signing_ca_cert_path);
    auto kp = read_required(o.signing_ca_key_path, "signing CA key");
    if (!kp) return kp.error();
    auto k = parse_private_key(*kp);
    if (!k) return k.error().wrap("signing CA key " + o.signing_ca_key_path);
    if (!key_matches(c->get(), k->get())) {
      return Error(ErrorCode::kInvalidArgument, "signing CA key " + o.signing_ca_key_path +
                                                    " does not belong to the CA certificate " + o.signing_ca_cert_path);
    }
    ca_cert = std::move(*c);
    ca_key = std::move(*k);
  }

  // The key: kept when there is one.
  KeyPtr key;
  auto key_pem = read_optional(o.key_path);
  if (!key_pem) return key_pem.error();
  if (*key_pem) {
    if (auto s = check_key_mode(o.key_path); !s) return s.error();
    auto k = parse_private_key(**key_pem);
    if (!k) return k.error().wrap("serving key " + o.key_path + " (delete it to have a new one made)");
    key = std::move(*k);
  } else {
    auto k = generate_ec_p256_key();
    if (!k) return k.error();
    key = std::move(*k);
    if (auto s = write_atomically(o.key_path, to_pem(key.get()), 0600); !s) return s.error();
    id.key_created = true;
  }

  // The certificate: kept while it fits.
  const auto now = clock.wall_now();
  auto cert_pem = read_optional(o.cert_path);
  if (!cert_pem) return cert_pem.error();
  bool fits = false;
  if (*cert_pem && !id.key_created) {
    if (auto c = parse_certificate(**cert_pem)) {
      fits = key_matches(c->get(), key.get()) && not_after(c->get()) > now + o.renew_before &&
             names_all_present(c->get(), o.names) && (!ca_cert || signed_by(c->get(), ca_cert.get()));
    }
  }
  std::string pem;
  if (fits) {
    pem = std::move(**cert_pem);
  } else {
    CertificateSpec spec;
    spec.common_name = o.common_name;
    spec.names = o.names;
    spec.server = true;
    spec.not_before = now - std::chrono::minutes(5);  // tolerate clocks slightly behind
    spec.not_after = now + o.validity;
    auto c = make_certificate(spec, key.get(), ca_cert.get(), ca_key.get());
    if (!c) return c.error().wrap("serving certificate");
    pem = to_pem(c->get());
    if (auto s = write_atomically(o.cert_path, pem, 0644); !s) return s.error();
    id.cert_created = true;
  }
  auto parsed = parse_certificate(pem);
  if (!parsed) return parsed.error();
  id.not_after = not_after(parsed->get());
  auto fp = certificate_sha256_fingerprint(pem);
  if (!fp) return fp.error();
  auto pin = public_key_pin_sha256(pem);
  if (!pin) return pin.error();
  id.cert_pem = std::move(pem);
  id.certificate_sha256 = std::move(*fp);
  id.public_key_pin = std::move(*pin);
  return id;
}

}  // namespace wscp::agent::tls
