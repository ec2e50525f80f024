#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "podman/project.h"

namespace wscp::podman {
namespace {

using nlohmann::json;

json valid() {
  json container{{"id", "i1"}, {"name", "p-dev"}};
  return json{{"version", 1},
              {"project", "p"},
              {"primaryService", "dev"},
              {"services",
               {{{"service", "dev"}, {"archive", "projects/p/dev.tar"}, {"container", container}},
                {{"service", "db"}, {"archive", "projects/p/db.tar"}, {"container", container}}}}};
}

TEST_CASE("a valid project manifest round-trips") {
  auto p = parse_project_manifest(valid().dump());
  REQUIRE(p.ok());
  CHECK(p->services.size() == 2);
  auto again = parse_project_manifest(project_manifest_json(*p));
  REQUIRE(again.ok());
  CHECK(again->primary_service == "dev");
  CHECK(again->services[1].archive_key == "projects/p/db.tar");
}

TEST_CASE("hostile project manifests are refused with the reason") {
  struct Case {
    const char* what;
    std::function<void(json&)> spoil;
    const char* expect;
  };
  std::vector<Case> cases = {
      {"not JSON", [](json& j) { j = "x"; }, "not a JSON object"},
      {"future version", [](json& j) { j["version"] = 9; }, "version 9"},
      {"duplicate service", [](json& j) { j["services"][1]["service"] = "dev"; j["services"][1]["archive"] = "projects/p/dev.tar"; }, "twice"},
      {"traversal in service", [](json& j) { j["services"][1]["service"] = "../etc"; }, "not a plain name"},
      {"hidden service", [](json& j) { j["services"][1]["service"] = ".x"; }, "not a plain name"},
      {"slash in project", [](json& j) { j["project"] = "a/b"; }, "not a plain name"},
      {"archive elsewhere", [](json& j) { j["services"][1]["archive"] = "/etc/shadow"; }, "outside"},
      {"primary missing", [](json& j) { j["primaryService"] = "web"; }, "not in the project"},
      {"no services", [](json& j) { j["services"] = json::array(); }, "no services"},
      {"wrong type", [](json& j) { j["services"][0]["service"] = 5; }, "malformed"},
      {"missing container", [](json& j) { j["services"][0].erase("container"); }, "malformed"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    json j = valid();
    c.spoil(j);
    auto p = parse_project_manifest(j.dump());
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().code() == ErrorCode::kInvalidArgument);
    CHECK(p.error().message().find(c.expect) != std::string::npos);
  }
}

}  // namespace
}  // namespace wscp::podman
