// The WorkspaceCheckpoint CRD on a real API server: it applies, the samples
// are admitted or refused as their rules say, the spec cannot change, the
// printer columns print, and status goes through its subresource only.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/workspace_checkpoint.h"
#include "kube_env.h"
#include "yaml_json.h"

namespace {

using nlohmann::json;
using wscp::kube::testing::KubeEnv;
namespace kube = wscp::kube;

const std::string kSource = WSCP_SOURCE_DIR;
const std::string kCrd = kSource + "/crds/wscp.dev_workspacecheckpoints.yaml";
const std::string kSamples = kSource + "/test/kube_integration/samples";

void apply_crd(const KubeEnv& kube) { kube.apply_crd(kCrd, "workspacecheckpoints.wscp.dev"); }

// A fresh namespace, so that tests do not see each other's objects.
std::string make_namespace(const KubeEnv& kube, const std::string& stem) {
  std::mt19937 rng(std::random_device{}());
  std::string name = stem + "-" + std::to_string(rng() % 1'000'000);
  auto r = kube.kubectl({"create", "namespace", name});
  REQUIRE_MESSAGE(r.ok(), r.output());
  return name;
}

std::vector<std::filesystem::path> samples(const std::string& kind) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(kSamples + "/" + kind)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::map<std::string, std::string> sample_header(const std::filesystem::path& p) {
  std::map<std::string, std::string> out;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line) && line.rfind("# ", 0) == 0) {
    auto colon = line.find(": ");
    if (colon != std::string::npos) out[line.substr(2, colon - 2)] = line.substr(colon + 2);
  }
  return out;
}

json get_object(const KubeEnv& kube, const std::string& ns, const std::string& name) {
  auto r = kube.kubectl({"get", "wscp", name, "-n", ns, "-o", "json"});
  REQUIRE_MESSAGE(r.ok(), r.output());
  return json::parse(r.out);
}

std::string create(const KubeEnv& kube, const std::string& ns, const std::string& sample) {
  auto r = kube.kubectl({"create", "-n", ns, "-f", kSamples + "/valid/" + sample + ".yaml"});
  REQUIRE_MESSAGE(r.ok(), r.output());
  return wscp::kube::testing::load_yaml_file(kSamples + "/valid/" + sample + ".yaml").at("metadata").at("name");
}

}  // namespace

TEST_CASE("crd: the CRD applies with kubectl and becomes Established") {
  KubeEnv kube;
  apply_crd(kube);
  auto crd = kube.kubectl({"get", "crd", "workspacecheckpoints.wscp.dev", "-o", "json"});
  REQUIRE(crd.ok());
  json j = json::parse(crd.out);
  CHECK(j.at("spec").at("names").at("shortNames") == json::array({"wscp"}));
  CHECK(j.at("spec").at("names").at("categories") == json::array({"all"}));
  CHECK(j.at("status").at("acceptedNames").at("kind") == "WorkspaceCheckpoint");
  // Applying it again changes nothing.
  auto again = kube.kubectl({"apply", "-f", kCrd});
  CHECK_MESSAGE(again.out.find("unchanged") != std::string::npos, again.output());
}

TEST_CASE("crd: every valid sample is accepted and reads back into the C++ types") {
  KubeEnv kube;
  apply_crd(kube);
  std::string ns = make_namespace(kube, "wscp-valid");
  auto files = samples("valid");
  REQUIRE(files.size() >= 6);
  for (const auto& file : files) {
    INFO(file.filename().string());
    auto r = kube.kubectl({"create", "-n", ns, "-f", file.string()});
    REQUIRE_MESSAGE(r.ok(), r.output());
    json sent = wscp::kube::testing::load_yaml_file(file.string());
    json stored = get_object(kube, ns, sent.at("metadata").at("name"));
    auto spec = kube::WorkspaceCheckpointSpec::from_json(stored.at("spec"));
    REQUIRE_MESSAGE(spec.ok(), spec.error().message());
    auto local = kube::WorkspaceCheckpointSpec::from_json(sent.at("spec"));
    REQUIRE(local.ok());
    CHECK(*spec == *local);  // the server kept every field, and added only the defaults C++ assumes
    CHECK(stored.at("metadata").at("generation") == 1);
  }
  json minimal = get_object(kube, ns, "minimal");
  CHECK(minimal.at("spec").at("reason") == "Manual");  // the schema's default
  CHECK_FALSE(minimal.contains("status"));
  CHECK(kube.kubectl({"delete", "wscp", "--all", "-n", ns}).ok());
}

TEST_CASE("crd: every invalid sample is refused with the message of its rule") {
  KubeEnv kube;
  apply_crd(kube);
  std::string ns = make_namespace(kube, "wscp-invalid");
  auto files = samples("invalid");
  REQUIRE(files.size() >= 20);
  for (const auto& file : files) {
    INFO(file.filename().string());
    auto header = sample_header(file);
    REQUIRE(header.count("expect") == 1);
    REQUIRE(header.count("field") == 1);
    auto r = kube.kubectl({"create", "-n", ns, "-f", file.string()});
    CHECK_FALSE(r.ok());
    CHECK_MESSAGE(r.err.find("is invalid") != std::string::npos, r.output());
    CHECK_MESSAGE(r.err.find(header.at("expect")) != std::string::npos, r.output());
    CHECK_MESSAGE(r.err.find(header.at("field") + ":") != std::string::npos, r.output());
  }
  auto left = kube.kubectl({"get", "wscp", "-n", ns, "-o", "name"});
  REQUIRE(left.ok());
  CHECK(left.out.empty());
}

TEST_CASE("crd: the spec cannot be changed once created") {
  KubeEnv kube;
  apply_crd(kube);
  std::string ns = make_namespace(kube, "wscp-immutable");
  std::string name = create(kube, ns, "container-to-node");

  for (const char* patch : {R"({"spec":{"store":"other"}})", R"({"spec":{"destination":{"node":"node-c"}}})",
                            R"({"spec":{"ttlSecondsAfterFinished":null}})"}) {
    INFO(patch);
    auto r = kube.kubectl({"patch", "wscp", name, "-n", ns, "--type", "merge", "-p", patch});
    CHECK_FALSE(r.ok());
    CHECK_MESSAGE(r.err.find("spec is immutable: create a new WorkspaceCheckpoint instead") != std::string::npos,
                  r.output());
  }
  // Metadata is not the spec: labels may change.
  auto label = kube.kubectl({"label", "wscp", name, "-n", ns, "team=infra"});
  CHECK_MESSAGE(label.ok(), label.output());
  json obj = get_object(kube, ns, name);
  CHECK(obj.at("spec").at("store") == "default");
  CHECK(obj.at("spec").at("destination").at("node") == "node-b");
  CHECK(obj.at("metadata").at("generation") == 1);
  CHECK(kube.kubectl({"delete", "wscp", "--all", "-n", ns}).ok());
}

TEST_CASE("crd: kubectl get wscp prints the printer columns") {
  KubeEnv kube;
  apply_crd(kube);
  std::string ns = make_namespace(kube, "wscp-columns");
  create(kube, ns, "container-to-node");
  create(kube, ns, "workspace-id-automatic");
  create(kube, ns, "compose-project-selector");
  create(kube, ns, "restore-from");

  auto table = kube.kubectl({"get", "wscp", "-n", ns});
  REQUIRE_MESSAGE(table.ok(), table.output());
  INFO(table.out);
  auto lines = [](const std::string& text) {
    std::map<std::string, std::vector<std::string>> rows;  // first word -> words
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::vector<std::string> w;
      std::string x;
      while (words >> x) w.push_back(x);
      if (!w.empty()) rows[w[0]] = w;
    }
    return rows;
  };
  auto rows = lines(table.out);
  CHECK(rows["NAME"] == std::vector<std::string>{"NAME", "PHASE", "WORKSPACE", "SOURCE", "DESTINATION", "AGE"});
  // No status yet: the phase column is empty, so the row has one word less.
  CHECK(std::vector<std::string>(rows["container-to-node"].begin(), rows["container-to-node"].end() - 1) ==
        std::vector<std::string>{"container-to-node", "devbox", "node-a", "node-b"});
  CHECK(std::vector<std::string>(rows["workspace-id-automatic"].begin(), rows["workspace-id-automatic"].end() - 1) ==
        std::vector<std::string>{"workspace-id-automatic", "ws-0f3c9a"});
  CHECK(std::vector<std::string>(rows["compose-project-selector"].begin(),
                                 rows["compose-project-selector"].end() - 1) ==
        std::vector<std::string>{"compose-project-selector", "shop", "node-a.example.internal"});

  // The details at priority 1.
  auto wide = kube.kubectl({"get", "wscp", "-n", ns, "-o", "wide"});
  REQUIRE(wide.ok());
  auto wide_rows = lines(wide.out);
  CHECK(wide_rows["NAME"] == std::vector<std::string>{"NAME", "PHASE", "WORKSPACE", "SOURCE", "DESTINATION", "AGE",
                                                      "REASON", "FROM", "RUNNING-ON", "CHECKPOINT", "DEADLINE-MET",
                                                      "MESSAGE"});
  CHECK(wide.out.find("SpotInterruption") != std::string::npos);
  CHECK(wide_rows["restore-from"].size() >= 4);
  CHECK(std::find(wide_rows["restore-from"].begin(), wide_rows["restore-from"].end(), "keep-for-later") !=
        wide_rows["restore-from"].end());

  // Category "all".
  auto all = kube.kubectl({"get", "all", "-n", ns, "-o", "name"});
  REQUIRE(all.ok());
  CHECK(all.out.find("workspacecheckpoint.wscp.dev/container-to-node") != std::string::npos);
  CHECK(kube.kubectl({"delete", "wscp", "--all", "-n", ns}).ok());
}

TEST_CASE("crd: status is written only through the status subresource") {
  KubeEnv kube;
  apply_crd(kube);
  std::string ns = make_namespace(kube, "wscp-status");
  std::string name = create(kube, ns, "container-to-node");

  // Through the main resource, status is dropped.
  auto main = kube.kubectl({"patch", "wscp", name, "-n", ns, "--type", "merge", "-p", R"({"status":{"phase":"Failed"}})"});
  CHECK_MESSAGE(main.ok(), main.output());
  CHECK_FALSE(get_object(kube, ns, name).contains("status"));

  // Everything the C++ status writes is accepted by the schema and reads back equal.
  kube::WorkspaceCheckpointStatus status;
  status.phase = kube::CheckpointPhase::kRestored;
  status.observed_generation = 1;
  status.conditions = {
      {std::string(kube::kConditionWorkspaceRunning), kube::ConditionStatus::kTrue, "Restored", "running on node-b", 1,
       *kube::parse_rfc3339("2030-01-01T10:00:05Z")},
      {std::string(kube::kConditionCheckpointed), kube::ConditionStatus::kTrue, "ManifestWritten", "", 1,
       *kube::parse_rfc3339("2030-01-01T10:00:03Z")},
  };
  status.running_on = kube::RunningOn{"node-b", std::string(64, 'a'), "10.88.0.2"};
  status.checkpoint = kube::CheckpointRecord{"20300101T100000Z-0a1b2c3d", "default", 1 << 20,
                                             "sha256:" + std::string(64, 'f'), true};
  status.timings = {{kube::CheckpointStep::kCheckpoint, *kube::parse_rfc3339("2030-01-01T10:00:00Z"),
                     *kube::parse_rfc3339("2030-01-01T10:00:03.5Z"), 3500}};
  status.criu = kube::CriuStats{kube::CriuCheckpointStats{1, 2, 3, 4, 5, 6}, kube::CriuRestoreStats{7, 8, 9}};
  status.deadline = kube::DeadlineOutcome{true, 115'000};
  status.finished_at = *kube::parse_rfc3339("2030-01-01T10:00:05Z");
  status.message = "restored on node-b";
  json patch{{"status", status.to_json()}};
  auto sub = kube.kubectl({"patch", "wscp", name, "-n", ns, "--subresource", "status", "--type", "merge", "-p",
                           patch.dump()});
  REQUIRE_MESSAGE(sub.ok(), sub.output());
  json obj = get_object(kube, ns, name);
  auto back = kube::WorkspaceCheckpointStatus::from_json(obj.at("status"));
  REQUIRE_MESSAGE(back.ok(), back.error().message());
  CHECK(*back == status);

  // The status subresource does not change the spec, and validates status.
  auto spec_via_status = kube.kubectl({"patch", "wscp", name, "-n", ns, "--subresource", "status", "--type", "merge",
                                       "-p", R"({"spec":{"store":"other"}})"});
  CHECK_MESSAGE(spec_via_status.ok(), spec_via_status.output());
  CHECK(get_object(kube, ns, name).at("spec").at("store") == "default");
  auto bad = kube.kubectl({"patch", "wscp", name, "-n", ns, "--subresource", "status", "--type", "merge", "-p",
                           R"({"status":{"phase":"Done"}})"});
  CHECK_FALSE(bad.ok());
  CHECK_MESSAGE(bad.err.find("status.phase: Unsupported value: \"Done\"") != std::string::npos, bad.output());
  auto dup = kube.kubectl({"patch", "wscp", name, "-n", ns, "--subresource", "status", "--type", "json", "-p",
                           R"([{"op":"add","path":"/status/conditions/-","value":{"type":"WorkspaceRunning",)"
                           R"("status":"False","reason":"Stopped","message":"","lastTransitionTime":"2030-01-01T10:00:06Z"}}])"});
  CHECK_FALSE(dup.ok());
  CHECK_MESSAGE(dup.err.find("Duplicate value") != std::string::npos, dup.output());
  CHECK(kube.kubectl({"delete", "wscp", "--all", "-n", ns}).ok());
}
