// The test API server itself: who may do what, and that restarts and
// compaction keep what the other tests rely on.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "kube_env.h"

using wscp::kube::testing::KubeEnv;

TEST_CASE("kube fixture: the admin may do anything, the restricted user nothing") {
  KubeEnv kube;
  auto version = kube.kubectl({"version", "-o", "json"});
  REQUIRE_MESSAGE(version.ok(), version.output());
  auto server = nlohmann::json::parse(version.out).at("serverVersion");
  CHECK(server.at("gitVersion").get<std::string>() == "v1.34.3");

  auto create = kube.kubectl({"create", "configmap", "fixture-probe", "--from-literal=k=v"});
  REQUIRE_MESSAGE(create.ok(), create.output());
  auto get = kube.kubectl({"get", "configmap", "fixture-probe", "-o", "jsonpath={.data.k}"});
  CHECK(get.out == "v");

  auto denied = kube.kubectl_restricted({"get", "configmap", "fixture-probe"});
  CHECK_FALSE(denied.ok());
  CHECK_MESSAGE(denied.err.find("forbidden") != std::string::npos, denied.err);
  CHECK(denied.err.find("wscp-test-nobody") != std::string::npos);

  auto can_i = kube.kubectl_restricted({"auth", "can-i", "list", "pods"});
  CHECK(can_i.out == "no\n");
  CHECK(kube.kubectl({"delete", "configmap", "fixture-probe"}).ok());
}

TEST_CASE("kube fixture: a restart keeps the data and takes extra flags; compaction") {
  KubeEnv kube;
  REQUIRE(kube.kubectl({"create", "configmap", "fixture-restart", "--from-literal=k=v"}).ok());
  kube.restart_apiserver({"--watch-cache=false"});
  std::ifstream log(kube.state_dir() + "/apiserver.log");
  std::string all((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK(all.rfind("--watch-cache=false") != std::string::npos);
  auto get = kube.kubectl({"get", "configmap", "fixture-restart", "-o", "jsonpath={.data.k}"});
  CHECK(get.out == "v");

  long long first = kube.compact();
  CHECK(first > 0);
  REQUIRE(kube.kubectl({"delete", "configmap", "fixture-restart"}).ok());
  long long second = kube.compact();
  CHECK(second > first);  // the delete made a new revision

  kube.restart_apiserver();
  CHECK(kube.kubectl({"get", "namespace", "default"}).ok());
}
