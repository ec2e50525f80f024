#include "kube/object_cache.h"

#include <doctest/doctest.h>

#include "kube/object.h"

using namespace wscp::kube;
using Kind = CacheChange::Kind;

namespace {

Json obj(const std::string& name, const std::string& rv, const std::string& uid = "u") {
  return {{"metadata", {{"name", name}, {"namespace", "ns"}, {"resourceVersion", rv}, {"uid", uid + name}}}};
}

std::string describe(const std::vector<CacheChange>& changes) {
  std::string out;
  for (const auto& c : changes) {
    const char* k = c.kind == Kind::kAdd ? "add" : c.kind == Kind::kUpdate ? "update" : "delete";
    const Json& o = c.kind == Kind::kDelete ? c.old_object : c.object;
    out += std::string(k) + " " + name_of(o) + "@" + resource_version_of(o) + ";";
  }
  return out;
}

}  // namespace

TEST_CASE("object cache: a relist swaps in the new snapshot and reports adds, updates and deletes") {
  ObjectCache cache;
  CHECK(describe(cache.replace({obj("a", "1"), obj("b", "2"), obj("c", "3")})) == "add a@1;add b@2;add c@3;");
  CHECK(cache.size() == 3);
  // After an outage: b changed, c disappeared, d appeared, a unchanged.
  CHECK(describe(cache.replace({obj("a", "1"), obj("b", "5"), obj("d", "6")})) == "update b@5;add d@6;delete c@3;");
  CHECK(cache.size() == 3);
  CHECK_FALSE(cache.get("ns/c").has_value());
  CHECK(resource_version_of(*cache.get("ns/b")) == "5");
  // Same name, new incarnation (deleted and recreated meanwhile): an update.
  auto changes = cache.replace({obj("a", "1", "other-"), obj("b", "5"), obj("d", "6")});
  CHECK(describe(changes) == "update a@1;");
  CHECK(changes[0].old_object["metadata"]["uid"] == "ua");
}

TEST_CASE("object cache: watch events update the cache; the old state travels with updates and deletes") {
  ObjectCache cache;
  (void)cache.replace({obj("a", "1")});
  auto add = cache.apply({WatchEventType::kAdded, obj("b", "2")});
  REQUIRE(add);
  CHECK(add->kind == Kind::kAdd);
  auto mod = cache.apply({WatchEventType::kModified, obj("a", "3")});
  REQUIRE(mod);
  CHECK(mod->kind == Kind::kUpdate);
  CHECK(resource_version_of(mod->old_object) == "1");
  CHECK(resource_version_of(mod->object) == "3");
  auto del = cache.apply({WatchEventType::kDeleted, obj("b", "4")});
  REQUIRE(del);
  CHECK(del->kind == Kind::kDelete);
  CHECK(cache.size() == 1);
  // MODIFIED for an unknown object adds it; ADDED for a known one updates it.
  CHECK(cache.apply({WatchEventType::kModified, obj("z", "5")})->kind == Kind::kAdd);
  CHECK(cache.apply({WatchEventType::kAdded, obj("z", "6")})->kind == Kind::kUpdate);
  CHECK_FALSE(cache.apply({WatchEventType::kBookmark, obj("", "7")}).has_value());
  CHECK(cache.list().size() == 2);
}

TEST_CASE("object cache: cluster-scoped objects are keyed by name") {
  ObjectCache cache;
  (void)cache.replace({Json{{"metadata", {{"name", "node-1"}, {"resourceVersion", "1"}}}}});
  CHECK(cache.get("node-1").has_value());
}
