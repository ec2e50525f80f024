#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace wscp::kube::testing {

// What a command printed and how it ended.
struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
  bool ok() const { return exit_code == 0; }
  std::string output() const { return out + err; }
};

// The API server the "kube" ctest fixture started (test/kube_integration/
// kube.sh). Missing server = failed test, never a skip.
class KubeEnv {
 public:
  KubeEnv() {
    const char* state = std::getenv("WSCP_KUBE_STATE");
    const char* ctl = std::getenv("WSCP_KUBE_CTL");
    if (state == nullptr || ctl == nullptr) {
      throw std::runtime_error("WSCP_KUBE_STATE/WSCP_KUBE_CTL are not set: run through ctest (fixture 'kube')");
    }
    state_ = state;
    ctl_ = ctl;
    std::ifstream in(state_ + "/env");
    if (!in) throw std::runtime_error("no API server is running: " + state_ + "/env is missing (kube.sh up)");
    std::string line;
    while (std::getline(in, line)) {
      auto eq = line.find('=');
      if (eq != std::string::npos) env_[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }

  // A value of STATE/env (WSCP_KUBE_SERVER, WSCP_KUBECONFIG_ADMIN, ...).
  const std::string& get(const std::string& key) const {
    auto it = env_.find(key);
    if (it == env_.end()) throw std::runtime_error(key + " is missing from " + state_ + "/env");
    return it->second;
  }
  const std::string& server() const { return get("WSCP_KUBE_SERVER"); }
  const std::string& admin_kubeconfig() const { return get("WSCP_KUBECONFIG_ADMIN"); }
  const std::string& restricted_kubeconfig() const { return get("WSCP_KUBECONFIG_RESTRICTED"); }
  const std::string& ca_file() const { return get("WSCP_KUBE_CA"); }
  const std::string& etcd_endpoint() const { return get("WSCP_ETCD_ENDPOINT"); }
  const std::string& kubectl_path() const { return get("WSCP_KUBECTL"); }
  const std::string& bin_dir() const { return get("WSCP_KUBE_BIN_DIR"); }
  const std::string& state_dir() const { return state_; }

  // The API server alone; etcd, the certificates and the port stay.
  void stop_apiserver() const { run({"stop"}); }
  // Starts it with the default flags plus `flags` (e.g. "--watch-cache=false");
  // returns once /readyz answers ok.
  void start_apiserver(const std::vector<std::string>& flags = {}) const {
    std::vector<std::string> args{"start"};
    args.insert(args.end(), flags.begin(), flags.end());
    run(args);
  }
  void restart_apiserver(const std::vector<std::string>& flags = {}) const {
    stop_apiserver();
    start_apiserver(flags);
  }
  // Compacts etcd to its current revision; returns that revision.
  long long compact() const { return std::stoll(run({"compact"})); }

  // kubectl as the admin (system:masters). `input` goes to its stdin.
  CommandResult kubectl(const std::vector<std::string>& args, const std::string& input = "") const {
    return kubectl_as(admin_kubeconfig(), args, input);
  }
  // kubectl as the user without any RBAC rights.
  CommandResult kubectl_restricted(const std::vector<std::string>& args, const std::string& input = "") const {
    return kubectl_as(restricted_kubeconfig(), args, input);
  }
  CommandResult kubectl_as(const std::string& kubeconfig, const std::vector<std::string>& args,
                           const std::string& input = "") const {
    std::vector<std::string> argv{kubectl_path(), "--kubeconfig", kubeconfig};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, input);
  }

  // Applies a CRD file with kubectl and waits until it is Established and
  // its resource is served (`resource`, e.g. "workspacecheckpoints.wscp.dev").
  void apply_crd(const std::string& file, const std::string& crd_name, int seconds = 30) const {
    auto apply = kubectl({"apply", "-f", file});
    if (!apply.ok()) throw std::runtime_error("kubectl apply -f " + file + " failed: " + apply.output());
    CommandResult last;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    auto wait = [&](const char* what, auto done) {
      while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) {
          throw std::runtime_error("CRD " + crd_name + " " + what + " within " + std::to_string(seconds) +
                                   " s: " + last.output());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    };
    wait("did not become Established", [&] {
      last = kubectl({"get", "crd", crd_name, "-o",
                      "jsonpath={.status.conditions[?(@.type==\"Established\")].status}"});
      return last.out == "True";
    });
    std::string plural = crd_name.substr(0, crd_name.find('.'));
    std::string group = crd_name.substr(crd_name.find('.') + 1);
    wait("is not served", [&] {
      last = kubectl({"get", plural + "." + group, "-A", "-o", "name"});
      return last.ok();
    });
  }

  // Runs argv (no shell involved in the arguments), feeding `input` to stdin.
  static CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = "") {
    TempFile in_file(input);
    TempFile err_file("");
    std::string cmd;
    for (const auto& a : argv) cmd += quote(a) + " ";
    cmd += "<" + quote(in_file.path) + " 2>" + quote(err_file.path);
    CommandResult r;
    FILE* pipe = ::popen(cmd.c_str(), "r");
    if (pipe == nullptr) throw std::runtime_error("cannot run: " + cmd);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
    int status = ::pclose(pipe);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    std::ifstream err(err_file.path);
    std::stringstream ss;
    ss << err.rdbuf();
    r.err = ss.str();
    return r;
  }

 private:
  struct TempFile {
    explicit TempFile(const std::string& content) {
      std::string tmpl = (std::filesystem::temp_directory_path() / "wscp-kube-XXXXXX").string();
      int fd = ::mkstemp(tmpl.data());
      if (fd < 0) throw std::runtime_error("cannot create a temporary file in " + tmpl);
      ::close(fd);
      path = tmpl;
      std::ofstream(path, std::ios::binary) << content;
    }
    ~TempFile() { std::filesystem::remove(path); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    std::string path;
  };

  static std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) {
      if (c == '\'') {
        q += "'\\''";
      } else {
        q += c;
      }
    }
    return q + "'";
  }

  // kube.sh VERB STATE ARGS...; returns its stdout, throws with its output on failure.
  std::string run(const std::vector<std::string>& verb_and_args) const {
    std::vector<std::string> argv{ctl_, verb_and_args.at(0), state_};
    argv.insert(argv.end(), verb_and_args.begin() + 1, verb_and_args.end());
    CommandResult r = run_command(argv);
    if (!r.ok()) {
      throw std::runtime_error("kube.sh " + verb_and_args.at(0) + " failed (exit " + std::to_string(r.exit_code) +
                               "): " + r.output());
    }
    return r.out;
  }

  std::string state_;
  std::string ctl_;
  std::map<std::string, std::string> env_;
};

}  // namespace wscp::kube::testing
