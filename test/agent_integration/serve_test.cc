// `wscp-agent serve` as a process: the real binary, a configuration file,
// the API server of the "kube" fixture for its registration, and a Podman
// socket that does not exist (the daemon must serve anyway and say it is
// not ready). Client certificates are made by make_pki.sh.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/registration/node_registration.h"
#include "agent/tls/certificate.h"
#include "agent_env.h"
#include "client_env.h"
#include "serve_process.h"

using namespace std::chrono_literals;
using nlohmann::json;
namespace at = wscp::agent::testing;
namespace kt = wscp::kube::testing;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/wscp-agent-serve-XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

TEST_CASE("serve: the daemon answers /healthz, is not ready without Podman, registers its Lease and stops on SIGTERM") {
  kt::KubeEnv kube;
  auto kube_client = kt::admin_client(kube);
  const std::string ns = kt::fresh_namespace(*kube_client, "serve");
  TempDir dir;
  const std::string pki = dir.file("pki");
  auto made = at::run_command("'" + std::string(WSCP_AGENT_INTEGRATION_DIR) + "/make_pki.sh' '" + pki + "'");
  REQUIRE_MESSAGE(made.status == 0, made.output);
  const std::string socket = dir.file("no-podman/podman.sock");  // nothing listens there
  const std::uint16_t api_port = at::free_port();
  std::uint16_t metrics_port = at::free_port();
  while (metrics_port == api_port) metrics_port = at::free_port();
  const std::string config = dir.file("agent.yaml");
  {
    std::ofstream out(config);
    out << "version: 1\n"
        << "node_name: smoke-1\n"
        << "podman_socket: " << socket << "\n"
        << "journal_dir: " << dir.file("journal") << "\n"
        << "operations: {workers: 2, shutdown_grace: 5s}\n"
        << "api:\n"
        << "  address: 127.0.0.1\n"
        << "  port: " << api_port << "\n"
        << "  tls:\n"
        << "    client_ca: " << pki << "/ca.crt\n"
        << "    allowed_subjects: [wscp-controller]\n"
        << "    key: " << dir.file("tls/serving.key") << "\n"
        << "    cert: " << dir.file("tls/serving.crt") << "\n"
        << "    serving_names: [127.0.0.1]\n"
        << "stores:\n"
        << "  main: {url: \"file://" << dir.file("store") << "\"}\n"
        << "metrics: {address: 127.0.0.1, port: " << metrics_port << "}\n"
        << "logging: {format: json, level: info}\n"
        << "kubernetes:\n"
        << "  kubeconfig: " << kube.admin_kubeconfig() << "\n"
        << "  namespace: " << ns << "\n"
        << "  lease_renew_interval: 1s\n"
        << "  lease_duration: 5s\n";
  }
  at::ServeProcess agent(config, dir.file("agent.log"));

  // The serving certificate appears once the agent has made its identity.
  std::string cert_pem;
  REQUIRE_MESSAGE(at::eventually(20s,
                                 [&] {
                                   if (agent.exited()) return true;
                                   std::ifstream in(dir.file("tls/serving.crt"));
                                   std::ostringstream s;
                                   s << in.rdbuf();
                                   cert_pem = s.str();
                                   return has(cert_pem, "-----END CERTIFICATE-----");
                                 }),
                  agent.log());
  REQUIRE_MESSAGE(!agent.exited(), agent.log());
  auto client = at::agent_api_client(pki, cert_pem);
  auto get = [&](const std::string& path) {
    wscp::http::Request r;
    r.url = "https://127.0.0.1:" + std::to_string(api_port) + path;
    r.timeout = 10s;
    return client->send(r);
  };

  // /healthz: 200 once the listener is up.
  wscp::Result<wscp::http::Response> health = wscp::Error(wscp::ErrorCode::kUnavailable, "not asked");
  CHECK_MESSAGE(at::eventually(20s,
                               [&] {
                                 health = get("/healthz");
                                 return (health.ok() && health->status == 200) || agent.exited();
                               }),
                agent.log());
  REQUIRE_MESSAGE(health.ok(), (health.ok() ? std::string() : health.error().describe() + "\n" + agent.log()));
  CHECK(health->status == 200);

  // /readyz: 503, naming Podman and the socket.
  auto ready = get("/readyz");
  REQUIRE_MESSAGE(ready.ok(), (ready.ok() ? "" : ready.error().describe()));
  CHECK(ready->status == 503);
  CHECK_MESSAGE(has(ready->body, "Podman"), ready->body);
  CHECK_MESSAGE(has(ready->body, socket), ready->body);

  // No client certificate: refused.
  wscp::http::ClientConfig anonymous;
  anonymous.verify_peer = false;
  anonymous.pinned_public_key = wscp::agent::tls::public_key_pin_sha256(cert_pem).value();
  anonymous.bypass_proxy = true;
  wscp::http::Request hr;
  hr.url = "https://127.0.0.1:" + std::to_string(api_port) + "/healthz";
  hr.timeout = 10s;
  CHECK_FALSE(wscp::http::make_curl_client(anonymous)->send(hr).ok());

  // Metrics on their own port.
  wscp::http::Request mr;
  mr.url = "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics";
  mr.timeout = 10s;
  auto metrics = at::loopback_client()->send(mr);
  REQUIRE_MESSAGE(metrics.ok(), (metrics.ok() ? "" : metrics.error().describe()));
  CHECK(metrics->status == 200);
  CHECK(has(metrics->body, "wscp_agent_"));

  // The Lease, with its annotations, renewed.
  json lease;
  REQUIRE_MESSAGE(kt::eventually(
                      [&] {
                        auto l = kube_client->get(wscp::kube::resources::kLeases, ns, "wscp-agent-smoke-1");
                        if (!l) return false;
                        lease = *l;
                        return true;
                      },
                      20s),
                  agent.log());
  const json annotations = lease["metadata"]["annotations"];
  CHECK(annotations.value("wscp.dev/endpoint", "") == "https://127.0.0.1:" + std::to_string(api_port));
  auto fingerprint = wscp::agent::tls::certificate_sha256_fingerprint(cert_pem);
  REQUIRE(fingerprint.ok());
  CHECK(lower(annotations.value("wscp.dev/certificate-sha256", "")) == lower(*fingerprint));
  auto openssl = at::run_command("openssl x509 -noout -fingerprint -sha256 -in '" + dir.file("tls/serving.crt") + "'");
  REQUIRE(openssl.status == 0);
  CHECK_MESSAGE(has(lower(openssl.output), lower(annotations.value("wscp.dev/certificate-sha256", "?"))),
                openssl.output);
  auto capabilities = json::parse(annotations.value("wscp.dev/capabilities", "[]"));
  CHECK(std::find(capabilities.begin(), capabilities.end(), "checkpoint") != capabilities.end());
  CHECK(json::parse(annotations.value("wscp.dev/capacity", "null")).is_object());
  CHECK(annotations.value("wscp.dev/termination-notice", "?").empty());
  CHECK(annotations.value("wscp.dev/evacuation", "?").empty());
  CHECK(lease["metadata"]["labels"]["wscp.dev/node"] == "smoke-1");
  // The holder: the node and its serving key (the pin computed here from
  // the certificate the agent wrote), the same across restarts.
  const std::string pin = wscp::agent::tls::public_key_pin_sha256(cert_pem).value();
  CHECK(annotations.value("wscp.dev/public-key-pin", "") == pin);
  const std::string holder = lease["spec"]["holderIdentity"];
  CHECK(holder.starts_with("smoke-1/"));
  CHECK(holder.size() == std::string("smoke-1/").size() + 16);
  CHECK(holder == wscp::agent::registration::holder_identity("smoke-1", pin));
  const std::string first_renew = lease["spec"]["renewTime"];
  CHECK_MESSAGE(kt::eventually(
                    [&] {
                      auto l = kube_client->get(wscp::kube::resources::kLeases, ns, "wscp-agent-smoke-1");
                      return l && (*l)["spec"]["renewTime"] != first_renew;
                    },
                    10s),
                agent.log());
  // Not ready, and why, for the controller's placement.
  std::string readiness;
  CHECK_MESSAGE(kt::eventually(
                    [&] {
                      auto l = kube_client->get(wscp::kube::resources::kLeases, ns, "wscp-agent-smoke-1");
                      readiness = l ? (*l)["metadata"]["annotations"].value("wscp.dev/ready", "") : "";
                      return readiness.starts_with("false: ");
                    },
                    10s),
                readiness);
  CHECK_MESSAGE(has(readiness, socket), readiness);

  // SIGTERM: exit 0 within a few seconds.
  REQUIRE_FALSE(agent.exited());
  const auto asked = std::chrono::steady_clock::now();
  agent.signal(SIGTERM);
  REQUIRE_MESSAGE(at::eventually(10s, [&] { return agent.exited(); }), agent.log());
  CHECK(std::chrono::steady_clock::now() - asked < 10s);
  CHECK_MESSAGE(WIFEXITED(agent.status()), agent.log());
  CHECK_MESSAGE(WEXITSTATUS(agent.status()) == 0, agent.log());
  const std::string log = agent.log();
  CHECK_MESSAGE(has(log, "\"msg\":\"stopped\""), log);
}
