#pragma once

// `wscp-agent serve` on one sandbox node, with an mTLS client of its API:
// what the daemon's end-to-end tests drive (evacuation, operations, kills).
#include <doctest/doctest.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "agent_env.h"
#include "serve_process.h"

namespace wscp::agent::testing {

inline std::string read_file_or_empty(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::tm utc_tm_in(std::chrono::seconds from_now) {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + from_now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}
// As AWS writes times (RFC 3339).
inline std::string rfc3339_in(std::chrono::seconds from_now) {
  const std::tm tm = utc_tm_in(from_now);
  char buf[64];
  return std::string(buf, std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm));
}
// As Azure Scheduled Events write NotBefore (RFC 1123).
inline std::string rfc1123_in(std::chrono::seconds from_now) {
  const std::tm tm = utc_tm_in(from_now);
  char buf[64];
  return std::string(buf, std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm));
}

// What differs between the tests' agents; the rest of the configuration is
// fixed (loopback API with the test PKI, JSON logs).
struct NodeAgentConfig {
  std::string node;
  std::string socket;
  std::filesystem::path dir;  // journal, serving key, config and log
  std::string pki;            // make_pki.sh's directory
  // YAML of the `stores:` mapping's entries, indented by two spaces.
  std::string stores;
  // YAML of the `notices:` mapping's entries (indented), or empty for none.
  std::string notices;
  // Top-level YAML sections added as they are (e.g. `kubernetes:`).
  std::string extra;
  // The `operations:` mapping and `memory_budget:`.
  std::string operations = "{workers: 2, transfer_buffer: 64MiB, shutdown_grace: 5s}";
  std::string memory_budget = "256MiB";
  // /metrics on 127.0.0.1:metrics_port; 0: no metrics.
  std::uint16_t metrics_port = 0;
};

class NodeAgent {
 public:
  explicit NodeAgent(NodeAgentConfig config) : config_(std::move(config)), port_(free_port()) {
    std::filesystem::create_directories(config_.dir);
    config_path_ = (config_.dir / "agent.yaml").string();
    std::ofstream out(config_path_);
    out << "version: 1\n"
        << "node_name: " << config_.node << "\n"
        << "podman_socket: " << config_.socket << "\n"
        << "journal_dir: " << (config_.dir / "journal").string() << "\n"
        << "settle_period: 1s\n"
        << "memory_budget: " << config_.memory_budget << "\n"
        << "operations: " << config_.operations << "\n"
        << "api:\n"
        << "  address: 127.0.0.1\n"
        << "  port: " << port_ << "\n"
        << "  tls:\n"
        << "    client_ca: " << config_.pki << "/ca.crt\n"
        << "    key: " << (config_.dir / "tls/serving.key").string() << "\n"
        << "    cert: " << (config_.dir / "tls/serving.crt").string() << "\n"
        << "    serving_names: [127.0.0.1]\n"
        << "stores:\n"
        << config_.stores
        << (config_.metrics_port == 0
                ? std::string("metrics: {enabled: false}\n")
                : "metrics: {enabled: true, address: 127.0.0.1, port: " + std::to_string(config_.metrics_port) + "}\n")
        << "logging: {format: json, level: info}\n";
    if (!config_.notices.empty()) out << "notices:\n" << config_.notices;
    out << config_.extra;
    out.close();
    start();
  }

  // Starts the daemon (again, after kill()): same configuration, journal
  // and serving key; waits until it answers /healthz.
  void start() {
    ++generation_;
    process_ = std::make_unique<ServeProcess>(
        config_path_, (config_.dir / ("agent-" + std::to_string(generation_) + ".log")).string());
    const auto cert = config_.dir / "tls/serving.crt";
    REQUIRE_MESSAGE(eventually(std::chrono::seconds(20),
                               [&] {
                                 return process_->exited() ||
                                        read_file_or_empty(cert).find("-----END CERTIFICATE-----") != std::string::npos;
                               }),
                    log());
    REQUIRE_MESSAGE(!process_->exited(), log());
    client_ = agent_api_client(config_.pki, read_file_or_empty(cert));
    REQUIRE_MESSAGE(
        eventually(std::chrono::seconds(30), [&] { return get("/healthz").first == 200 || process_->exited(); }),
        log());
    REQUIRE_MESSAGE(!process_->exited(), log());
  }

  // kill -9: the daemon gets no chance to clean up.
  void kill() {
    process_->signal(SIGKILL);
    REQUIRE(eventually(std::chrono::seconds(10), [&] { return process_->exited(); }));
  }

  std::string log() const { return process_ ? process_->log() : std::string(); }
  ServeProcess& process() { return *process_; }
  std::uint16_t port() const { return port_; }

  std::pair<int, nlohmann::json> call(const std::string& method, const std::string& path,
                                      const nlohmann::json& body = nullptr) {
    http::Request r;
    r.method = method;
    r.url = "https://127.0.0.1:" + std::to_string(port_) + path;
    r.timeout = std::chrono::seconds(30);
    if (!body.is_null()) {
      r.body = body.dump();
      r.headers.push_back({"Content-Type", "application/json"});
    }
    auto resp = client_->send(r);
    if (!resp) return {0, nlohmann::json{{"transport", resp.error().describe()}}};
    return {resp->status, nlohmann::json::parse(resp->body, nullptr, false)};
  }
  std::pair<int, nlohmann::json> get(const std::string& path) { return call("GET", path); }

  nlohmann::json operation(const std::string& id) { return get("/v1/operations/" + id).second; }

  // Waits until operation `id` ends; returns it.
  nlohmann::json wait_operation(const std::string& id, std::chrono::seconds timeout = std::chrono::seconds(120)) {
    nlohmann::json op;
    REQUIRE_MESSAGE(eventually(timeout,
                               [&] {
                                 op = operation(id);
                                 if (!op.is_object()) return false;  // not an answer yet: ask again
                                 const std::string state = op.value("state", "");
                                 return state == "succeeded" || state == "failed" || state == "cancelled";
                               },
                               std::chrono::milliseconds(200)),
                    (op.dump() + "\n" + log()));
    return op;
  }

  // Starts an operation and waits for its end; returns it.
  nlohmann::json run_operation(const nlohmann::json& request,
                               std::chrono::seconds timeout = std::chrono::seconds(120)) {
    auto [status, started] = call("POST", "/v1/operations", request);
    REQUIRE_MESSAGE((status == 202 || status == 200), (started.dump() + "\n" + log()));
    return wait_operation(request.at("id").get<std::string>(), timeout);
  }

 private:
  NodeAgentConfig config_;
  std::uint16_t port_;
  std::string config_path_;
  int generation_ = 0;
  std::unique_ptr<ServeProcess> process_;
  std::unique_ptr<http::Client> client_;
};

// Makes the test PKI (make_pki.sh: a CA, the controller's client
// certificate, and certificates the agents must refuse) in `dir`.
inline void make_test_pki(const std::string& dir) {
  auto made = run_command("'" + std::string(WSCP_AGENT_INTEGRATION_DIR) + "/make_pki.sh' '" + dir + "'");
  REQUIRE_MESSAGE(made.status == 0, made.output);
}

// A directory store entry for NodeAgentConfig::stores.
inline std::string directory_store(const std::string& name, const std::string& path, int compression_level = 0) {
  return "  " + name + ": {url: \"file://" + path + "\", compression_level: " + std::to_string(compression_level) +
         "}\n";
}

// The test PKI and one directory store under `root`, and the configuration
// of an agent using them: where the daemon tests on one store begin.
struct PkiAndStore {
  std::filesystem::path root;
  std::string pki = (root / "pki").string();
  std::string store = (root / "store").string();
  explicit PkiAndStore(std::filesystem::path dir) : root(std::move(dir)) {
    make_test_pki(pki);
    std::filesystem::create_directories(store);
  }
  NodeAgentConfig agent(const std::string& node, const std::string& socket, int compression_level) const {
    return {node, socket, root / node, pki, directory_store("main", store, compression_level), "", ""};
  }
};

inline nlohmann::json evacuation_entry(const nlohmann::json& evacuation, const std::string& workspace) {
  for (const auto& w : evacuation.at("workspaces"))
    if (w.at("workspace") == workspace) return w;
  return nullptr;
}

// An S3 store entry for NodeAgentConfig::stores: `url` (s3://bucket/prefix?...),
// a key file and a credentials directory (docs/agent-config.md, `stores:`).
inline std::string s3_store(const std::string& name, const std::string& url, const std::string& keyring,
                            const std::string& credentials_dir, int compression_level = 3) {
  return "  " + name + ": {url: \"" + url + "\", keyring: \"" + keyring + "\", credentials_dir: \"" +
         credentials_dir + "\", compression_level: " + std::to_string(compression_level) + "}\n";
}

// The agent's JSON log lines (logging: {format: json}) whose message is
// `msg`, in order; each has "time" (UTC, milliseconds: they sort as text).
inline std::vector<nlohmann::json> log_records(const std::string& log, const std::string& msg) {
  std::vector<nlohmann::json> out;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("msg", "") == msg) out.push_back(std::move(j));
  }
  return out;
}

// A size as the agent writes it (format_byte_size: "88MiB", "1GiB",
// "123B"); 0 when it is not one.
inline std::uint64_t parse_byte_size(const std::string& text) {
  static const std::pair<const char*, std::uint64_t> kUnits[] = {
      {"TiB", 1ull << 40}, {"GiB", 1ull << 30}, {"MiB", 1ull << 20}, {"KiB", 1ull << 10}, {"B", 1}};
  for (const auto& [unit, factor] : kUnits) {
    const std::string u(unit);
    if (text.size() <= u.size() || text.compare(text.size() - u.size(), u.size(), u) != 0) continue;
    const std::string digits = text.substr(0, text.size() - u.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos) return 0;
    return std::stoull(digits) * factor;
  }
  return 0;
}

// A field of /proc/PID/status in bytes (VmRSS, VmHWM), or -1.
inline long long proc_status_bytes(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1)) * 1024;
  return -1;
}

}  // namespace wscp::agent::testing
