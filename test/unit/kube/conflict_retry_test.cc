#include "kube/conflict_retry.h"

#include <doctest/doctest.h>

#include "fake_kube_client.h"

using namespace wscp;
using namespace wscp::kube;
using wscp::kube::testing::FakeKubeClient;

namespace {
const Resource& kWsc = resources::kWorkspaceCheckpoints;
Json wsc(const std::string& name) { return {{"metadata", {{"name", name}, {"namespace", "ns"}}}, {"spec", {{"n", 0}}}}; }
}  // namespace

TEST_CASE("modify: a conflicting writer in between makes it read and mutate again") {
  FakeKubeClient api;
  REQUIRE(api.create(kWsc, wsc("a")).ok());
  int calls = 0;
  auto r = modify(api, kWsc, "ns", "a", [&](Json& o) -> Result<bool> {
    ++calls;
    if (calls == 1) {
      // Someone else writes after our read.
      Json other = *api.stored(kWsc, "ns", "a");
      other["metadata"]["labels"]["other"] = "yes";
      REQUIRE(api.update(kWsc, other).ok());
    }
    o["spec"]["n"] = o["spec"]["n"].get<int>() + 1;
    return true;
  });
  REQUIRE_MESSAGE(r.ok(), r.error().describe());
  CHECK(calls == 2);
  auto stored = *api.stored(kWsc, "ns", "a");
  CHECK(stored["spec"]["n"] == 1);
  CHECK(stored["metadata"]["labels"]["other"] == "yes");  // the other write is kept
}

TEST_CASE("modify: gives up after max_attempts with a conflict error") {
  FakeKubeClient api;
  REQUIRE(api.create(kWsc, wsc("a")).ok());
  api.fail_next("update", FakeKubeClient::api(409, "Conflict", "the object has been modified"), 10);
  ModifyOptions o;
  o.max_attempts = 3;
  auto r = modify(api, kWsc, "ns", "a", [](Json&) -> Result<bool> { return true; }, o);
  REQUIRE_FALSE(r.ok());
  CHECK(is_conflict(r.error()));
  CHECK(r.error().message().find("after 3 attempts") != std::string::npos);
  CHECK(api.calls("update") == 3);
}

TEST_CASE("modify: no change means no write; errors of the mutation and other API errors stop at once") {
  FakeKubeClient api;
  REQUIRE(api.create(kWsc, wsc("a")).ok());
  REQUIRE(modify(api, kWsc, "ns", "a", [](Json&) -> Result<bool> { return false; }).ok());
  CHECK(api.calls("update") == 0);

  auto refused = modify(api, kWsc, "ns", "a",
                        [](Json&) -> Result<bool> { return Error(ErrorCode::kInvalidArgument, "no"); });
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message() == "no");

  api.fail_next("update", FakeKubeClient::api(403, "Forbidden", "nope"));
  auto forbidden = modify(api, kWsc, "ns", "a", [](Json&) -> Result<bool> { return true; });
  REQUIRE_FALSE(forbidden.ok());
  CHECK(is_forbidden(forbidden.error()));
  CHECK(api.calls("update") == 1);

  auto missing = modify(api, kWsc, "ns", "nope", [](Json&) -> Result<bool> { return true; });
  REQUIRE_FALSE(missing.ok());
  CHECK(is_not_found(missing.error()));
}

TEST_CASE("modify: through the status subresource") {
  FakeKubeClient api;
  REQUIRE(api.create(kWsc, wsc("a")).ok());
  ModifyOptions o;
  o.status = true;
  auto r = modify(api, kWsc, "ns", "a", [](Json& obj) -> Result<bool> {
    obj["status"]["phase"] = "Pending";
    obj["spec"]["n"] = 99;  // ignored by the status subresource
    return true;
  }, o);
  REQUIRE(r.ok());
  auto stored = *api.stored(kWsc, "ns", "a");
  CHECK(stored["status"]["phase"] == "Pending");
  CHECK(stored["spec"]["n"] == 0);
  CHECK(api.calls("update_status") == 1);
}
