#include "podman/types.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

namespace wscp::podman {
namespace {

using nlohmann::json;

TEST_CASE("container inspect answers are read into ContainerInfo") {
  json j = json::parse(R"({
    "Id": "abc", "Name": "web", "State": {"Status": "running"}, "Image": "img1",
    "ImageName": "localhost/box:latest", "OCIRuntime": "crun", "Pod": "",
    "Config": {"Labels": {"dev.containers.id": "ws1", "n": 3}},
    "Mounts": [{"Type": "bind", "Source": "/src", "Destination": "/data"},
               {"Type": "volume", "Name": "vol", "Source": "/var/lib/x", "Destination": "/v"}],
    "NetworkSettings": {"Networks": {"podman": {}, "backend": {}}},
    "Dependencies": ["db"]})");
  auto c = parse_container_inspect(j);
  REQUIRE(c.ok());
  CHECK(c->running());
  CHECK(c->labels.size() == 1);  // non-string label values are ignored
  CHECK(c->labels.at("dev.containers.id") == "ws1");
  REQUIRE(c->mounts.size() == 2);
  CHECK(c->mounts[1].name == "vol");
  CHECK(c->networks == std::vector<std::string>{"backend", "podman"});
  CHECK(c->dependencies == std::vector<std::string>{"db"});

  // The facts survive the manifest's JSON form.
  ContainerInfo back = json(*c).get<ContainerInfo>();
  CHECK(back.image_id == "img1");
  CHECK(back.mounts[0].destination == "/data");
  CHECK(back.networks == c->networks);
}

TEST_CASE("answers of the wrong shape are errors that say where") {
  auto missing_id = parse_container_inspect(json::parse(R"({"Name":"x"})"));
  REQUIRE_FALSE(missing_id.ok());
  CHECK(missing_id.error().message().find("container inspect") != std::string::npos);
  CHECK_FALSE(parse_host_info(json::parse(R"({"version":{}})")).ok());
  CHECK_FALSE(parse_container_list(json::parse(R"([{"Names":["x"]}])")).ok());
}

TEST_CASE("a stats answer gives one container's memory, and nothing else passes") {
  auto ok = parse_memory_usage(json::parse(R"({"Error":null,"Stats":[{"Name":"w","MemUsage":4096}]})"));
  REQUIRE(ok.ok());
  CHECK(*ok == 4096);
  CHECK(parse_memory_usage(json::parse(R"({"Stats":[{"MemUsage":7}]})")).value() == 7);
  for (const char* bad : {R"({"Error":"no such container","Stats":[]})", R"({"Stats":[]})",
                          R"({"Stats":[{"MemUsage":1},{"MemUsage":2}]})", R"({"Stats":[{"MemUsage":-5}]})",
                          R"({"Stats":[{"MemUsage":"1GB"}]})", R"({"Stats":[{}]})", R"([])"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_memory_usage(json::parse(bad)).ok());
  }
}

TEST_CASE("host info reads the runtime and versions") {
  auto h = parse_host_info(json::parse(R"({"version":{"Version":"5.4.2","APIVersion":"5.4.2"},
      "host":{"ociRuntime":{"name":"crun","version":"crun version 1.21\n+SYSTEMD +CRIU"}}})"));
  REQUIRE(h.ok());
  CHECK(h->oci_runtime == "crun");
  CHECK(h->api_version == "5.4.2");
  CHECK(h->graph_root.empty());  // not said: left empty, never guessed

  h = parse_host_info(json::parse(R"({"version":{"Version":"4.3.1","APIVersion":"4.3.1"},
      "host":{"ociRuntime":{"name":"crun","version":"crun 1.8"}},
      "store":{"graphRoot":"/var/lib/containers/storage","imageCopyTmpDir":"/var/tmp"}})"));
  REQUIRE(h.ok());
  CHECK(h->graph_root == "/var/lib/containers/storage");
  CHECK(h->image_copy_tmp_dir == "/var/tmp");

  // Odd store fields (only for capacity) leave the paths out; the runtime still reads.
  for (const char* store : {R"("store":{"graphRoot":null,"imageCopyTmpDir":7})", R"("store":"x")", R"("store":[])"}) {
    h = parse_host_info(json::parse(std::string(R"({"version":{"Version":"4.3.1","APIVersion":"4.3.1"},
        "host":{"ociRuntime":{"name":"crun","version":"crun 1.8"}},)") + store + "}"));
    REQUIRE_MESSAGE(h.ok(), store);
    CHECK(h->oci_runtime == "crun");
    CHECK(h->graph_root.empty());
    CHECK(h->image_copy_tmp_dir.empty());
  }
}

}  // namespace
}  // namespace wscp::podman
