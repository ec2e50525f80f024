// What makes a compose project movable as one workspace.
#include "podman/project.h"

#include <doctest/doctest.h>

namespace wscp::podman {
namespace {

ContainerInfo service(const std::string& name, const std::string& svc, bool primary = false) {
  ContainerInfo c;
  c.name = name;
  c.labels[kComposeProjectLabel] = "proj";
  if (!svc.empty()) c.labels[kComposeServiceLabel] = svc;
  if (primary) c.labels["dev.containers.id"] = "proj";
  return c;
}

TEST_CASE("a project with one container per service and one devcontainer passes") {
  CHECK(check_project("proj", {service("proj-dev", "dev", true), service("proj-db", "db")}, "dev.containers.id").ok());
}

TEST_CASE("a service's name is its label, or else the container's name") {
  CHECK(service_of(service("proj-db", "db")) == "db");
  CHECK(service_of(service("proj-db", "")) == "proj-db");
}

TEST_CASE("what cannot move as one workspace is refused with the reason") {
  SUBCASE("two containers for one service") {
    auto st = check_project("proj", {service("x1", "web", true), service("x2", "web")}, "dev.containers.id");
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code() == ErrorCode::kInvalidArgument);
    CHECK(st.error().message().find("'web'") != std::string::npos);
  }
  SUBCASE("two devcontainers") {
    auto st = check_project("proj", {service("a", "a", true), service("b", "b", true)}, "dev.containers.id");
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message().find("exactly one") != std::string::npos);
  }
  SUBCASE("no devcontainer") {
    auto st = check_project("proj", {service("a", "a")}, "dev.containers.id");
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message().find("found 0") != std::string::npos);
  }
  SUBCASE("a service name that is not a plain name") {
    auto st = check_project("proj", {service("a", "../etc", true)}, "dev.containers.id");
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message().find("plain name") != std::string::npos);
  }
  SUBCASE("a project name that is not a plain name") {
    auto st = check_project(".hidden", {service("a", "a", true)}, "dev.containers.id");
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message().find("plain name") != std::string::npos);
  }
}

}  // namespace
}  // namespace wscp::podman
