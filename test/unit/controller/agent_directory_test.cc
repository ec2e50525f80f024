#include "controller/agent_directory.h"

#include <doctest/doctest.h>

#include "lease_fixture.h"

using namespace wscp;
using namespace wscp::controller;
using namespace wscp::controller::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const auto kNow = SettableClock{}.wall;

}  // namespace

TEST_CASE("agent lease: a good Lease gives every field") {
  json lease = agent_lease("worker-7", kNow - 5s);
  annotate(lease, "wscp.dev/termination-notice",
           R"({"provider":"aws","kind":"termination","id":"i-1","action":"terminate","deadline":"2026-01-05T10:02:00Z","detectedAt":"2026-01-05T10:00:00Z","detail":"..."})");
  annotate(lease, "wscp.dev/evacuation",
           R"({"notice":{},"deadline":"2026-01-05T10:02:00Z","checkpointId":"notice-aws-0123456789ab","store":"main","acknowledged":false,
               "workspaces":[{"workspace":"ws-1","container":"ws-1-app","checkpointId":"notice-aws-0123456789ab",
                              "operation":"notice-aws-0123456789ab-aaaaaaaaaaaa-checkpoint","state":"checkpointed","deadlineMet":true}]})");
  auto info = parse_agent_lease(lease, kNow);
  REQUIRE_MESSAGE(info.ok(), (info.ok() ? "" : info.error().describe()));
  CHECK(info->lease == "wscp-system/wscp-agent-worker-7");
  CHECK(info->node == "worker-7");
  CHECK(info->endpoint == "https://10.0.3.17:9443");
  CHECK(info->host == "10.0.3.17");
  CHECK(info->port == 9443);
  CHECK(info->certificate_sha256 == fingerprint_of("ab"));  // lowercased
  CHECK(info->public_key_pin == pin_of('k'));
  CHECK(info->capabilities.size() == 6);
  CHECK(info->has_capability("preflight"));
  CHECK(info->has_capability("notices:aws"));
  CHECK_FALSE(info->has_capability("notices:gce"));
  CHECK(info->capacity.memory_available_bytes == 8589934592ull);
  CHECK(info->capacity.disk_free_bytes.at("/var/tmp") == 2000);
  CHECK(info->capacity.workspaces_running == 3u);
  REQUIRE(info->termination_notice);
  CHECK(info->termination_notice->provider == "aws");
  CHECK(info->termination_notice->kind == "termination");
  REQUIRE(info->termination_notice->deadline);
  CHECK(*info->termination_notice->deadline == kNow + 2min);
  REQUIRE(info->evacuation);
  CHECK(info->evacuation->document["store"] == "main");
  REQUIRE(info->evacuation->workspaces.size() == 1);
  CHECK(info->evacuation->workspaces[0] ==
        EvacuatedWorkspace{"ws-1", "notice-aws-0123456789ab", "checkpointed",
                           "notice-aws-0123456789ab-aaaaaaaaaaaa-checkpoint"});
  CHECK(info->holder == "worker-7/abababababababab");
  CHECK(info->lease_duration == 20s);
  CHECK(info->live);
}

TEST_CASE("agent lease: absent optional annotations are unknown, not errors") {
  json lease = agent_lease("n1", kNow);
  auto& a = lease["metadata"]["annotations"];
  a.erase("wscp.dev/capacity");
  a.erase("wscp.dev/capabilities");
  a.erase("wscp.dev/termination-notice");
  a.erase("wscp.dev/evacuation");
  auto info = parse_agent_lease(lease, kNow);
  REQUIRE_MESSAGE(info.ok(), (info.ok() ? "" : info.error().describe()));
  CHECK(info->capacity == AgentCapacity{});
  CHECK_FALSE(info->capacity.memory_available_bytes);
  CHECK(info->capabilities.empty());
  CHECK_FALSE(info->termination_notice);
  CHECK_FALSE(info->evacuation);

  annotate(lease, "wscp.dev/capacity", R"({"diskFreeBytes":{}})");
  info = parse_agent_lease(lease, kNow);
  REQUIRE(info.ok());
  CHECK_FALSE(info->capacity.workspaces_running);
}

TEST_CASE("agent lease: live while renewTime + leaseDurationSeconds has not passed") {
  json lease = agent_lease("n1", kNow - 20s);
  auto at_edge = parse_agent_lease(lease, kNow);
  REQUIRE(at_edge.ok());
  CHECK(at_edge->live);
  auto after = parse_agent_lease(lease, kNow + 1s);
  REQUIRE(after.ok());  // expired is not invalid
  CHECK_FALSE(after->live);
  CHECK(after->live_at(kNow - 1s));
}

TEST_CASE("agent lease: every hostile field is refused naming the Lease and the field") {
  struct Case {
    const char* name;
    std::function<void(json&)> change;
    const char* field;
    const char* reason;
  };
  const std::string huge(300 * 1024, 'x');
  const Case cases[] = {
      {"name without the prefix", [](json& l) { l["metadata"]["name"] = "node-1"; }, "metadata.name", "wscp-agent-<node>"},
      {"name as a number", [](json& l) { l["metadata"]["name"] = 7; }, "metadata.name", "must be a string"},
      {"node name with capitals", [](json& l) { l["metadata"]["name"] = "wscp-agent-Node_1"; }, "metadata.name",
       "lowercase"},
      {"node label missing", [](json& l) { l["metadata"]["labels"].erase("wscp.dev/node"); }, "label wscp.dev/node",
       "missing"},
      {"node label another node", [](json& l) { l["metadata"]["labels"]["wscp.dev/node"] = "n2"; },
       "label wscp.dev/node", "says node \"n2\""},
      {"annotations not an object", [](json& l) { l["metadata"]["annotations"] = json::array(); },
       "metadata.annotations", "must be an object"},
      {"endpoint missing", [](json& l) { l["metadata"]["annotations"].erase("wscp.dev/endpoint"); },
       "annotation wscp.dev/endpoint", "is missing"},
      {"endpoint http", [](json& l) { annotate(l, "wscp.dev/endpoint", "http://10.0.3.17:9443"); },
       "annotation wscp.dev/endpoint", "https://"},
      {"endpoint without port", [](json& l) { annotate(l, "wscp.dev/endpoint", "https://node-1"); },
       "annotation wscp.dev/endpoint", "port"},
      {"endpoint port 0", [](json& l) { annotate(l, "wscp.dev/endpoint", "https://node-1:0"); },
       "annotation wscp.dev/endpoint", "outside 1-65535"},
      {"endpoint port 70000", [](json& l) { annotate(l, "wscp.dev/endpoint", "https://node-1:70000"); },
       "annotation wscp.dev/endpoint", "outside 1-65535"},
      {"endpoint port letters", [](json& l) { annotate(l, "wscp.dev/endpoint", "https://node-1:9x43"); },
       "annotation wscp.dev/endpoint", "invalid port"},
      {"endpoint host with a space", [](json& l) { annotate(l, "wscp.dev/endpoint", "https://no de:9443"); },
       "annotation wscp.dev/endpoint", "invalid host"},
      {"endpoint bad IPv4", [](json& l) { annotate(l, "wscp.dev/endpoint", "https://10.0.3.999:9443"); },
       "annotation wscp.dev/endpoint", "invalid host"},
      {"endpoint IPv6 without brackets", [](json& l) { annotate(l, "wscp.dev/endpoint", "https://fd00::1:9443"); },
       "annotation wscp.dev/endpoint", "without brackets"},
      {"endpoint with user", [](json& l) { annotate(l, "wscp.dev/endpoint", "https://evil@node-1:9443"); },
       "annotation wscp.dev/endpoint", "user information"},
      {"endpoint with a path", [](json& l) { annotate(l, "wscp.dev/endpoint", "https://node-1:9443/x?y"); },
       "annotation wscp.dev/endpoint", "no path"},
      {"endpoint huge", [huge](json& l) { annotate(l, "wscp.dev/endpoint", "https://" + huge + ":1"); },
       "annotation wscp.dev/endpoint", "at most 512"},
      {"endpoint as a number", [](json& l) { annotate(l, "wscp.dev/endpoint", 9443); },
       "annotation wscp.dev/endpoint", "must be a string"},
      {"fingerprint short", [](json& l) { annotate(l, "wscp.dev/certificate-sha256", "ab:cd"); },
       "annotation wscp.dev/certificate-sha256", "32 hex pairs"},
      {"fingerprint not hex", [](json& l) { annotate(l, "wscp.dev/certificate-sha256", fingerprint_of("zz")); },
       "annotation wscp.dev/certificate-sha256", "32 hex pairs"},
      {"pin missing", [](json& l) { annotate(l, "wscp.dev/public-key-pin", ""); }, "annotation wscp.dev/public-key-pin",
       "is missing"},
      {"pin without prefix", [](json& l) { annotate(l, "wscp.dev/public-key-pin", pin_of('k').substr(8)); },
       "annotation wscp.dev/public-key-pin", "sha256//"},
      {"pin of 31 bytes",
       [](json& l) { annotate(l, "wscp.dev/public-key-pin", "sha256//" + kube::base64_encode(std::string(31, 'k'))); },
       "annotation wscp.dev/public-key-pin", "32 bytes"},
      {"pin of two keys",
       [](json& l) { annotate(l, "wscp.dev/public-key-pin", pin_of('k') + ";" + pin_of('j')); },
       "annotation wscp.dev/public-key-pin", "32 bytes"},
      {"capabilities not JSON", [](json& l) { annotate(l, "wscp.dev/capabilities", "[checkpoint"); },
       "annotation wscp.dev/capabilities", "not valid JSON"},
      {"capabilities an object", [](json& l) { annotate(l, "wscp.dev/capabilities", R"({"a":1})"); },
       "annotation wscp.dev/capabilities", "array of strings"},
      {"capability a number", [](json& l) { annotate(l, "wscp.dev/capabilities", R"(["checkpoint",7])"); },
       "annotation wscp.dev/capabilities[1]", "must be a string"},
      {"capability with a space", [](json& l) { annotate(l, "wscp.dev/capabilities", R"(["check point"])"); },
       "annotation wscp.dev/capabilities[0]", "only letters"},
      {"too many capabilities",
       [](json& l) { annotate(l, "wscp.dev/capabilities", json(std::vector<std::string>(40, "x")).dump()); },
       "annotation wscp.dev/capabilities", "at most 32"},
      {"capacity negative memory", [](json& l) { annotate(l, "wscp.dev/capacity", R"({"memoryAvailableBytes":-1})"); },
       "annotation wscp.dev/capacity.memoryAvailableBytes", "negative"},
      {"capacity memory as text", [](json& l) { annotate(l, "wscp.dev/capacity", R"({"memoryAvailableBytes":"8G"})"); },
       "annotation wscp.dev/capacity.memoryAvailableBytes", "non-negative integer"},
      {"capacity disk an array", [](json& l) { annotate(l, "wscp.dev/capacity", R"({"diskFreeBytes":[1,2]})"); },
       "annotation wscp.dev/capacity.diskFreeBytes", "object"},
      {"capacity relative path", [](json& l) { annotate(l, "wscp.dev/capacity", R"({"diskFreeBytes":{"tmp":1}})"); },
       "annotation wscp.dev/capacity.diskFreeBytes[\"tmp\"]", "absolute path"},
      {"capacity workspaces beyond 32 bits",
       [](json& l) { annotate(l, "wscp.dev/capacity", R"({"workspacesRunning":4294967296})"); },
       "annotation wscp.dev/capacity.workspacesRunning", "at most 4294967295"},
      {"capacity not an object", [](json& l) { annotate(l, "wscp.dev/capacity", "[]"); },
       "annotation wscp.dev/capacity", "JSON object"},
      {"capacity huge", [huge](json& l) { annotate(l, "wscp.dev/capacity", huge); }, "annotation wscp.dev/capacity",
       "at most 16384"},
      {"notice not JSON", [](json& l) { annotate(l, "wscp.dev/termination-notice", "terminate!"); },
       "annotation wscp.dev/termination-notice", "not valid JSON"},
      {"notice an array", [](json& l) { annotate(l, "wscp.dev/termination-notice", "[1]"); },
       "annotation wscp.dev/termination-notice", "JSON object"},
      {"evacuation workspaces not an array", [](json& l) { annotate(l, "wscp.dev/evacuation", R"({"workspaces":{}})"); },
       "annotation wscp.dev/evacuation.workspaces", "array"},
      {"evacuation workspace without operation",
       [](json& l) {
         annotate(l, "wscp.dev/evacuation",
                  R"({"workspaces":[{"workspace":"ws-1","checkpointId":"c","state":"checkpointing"}]})");
       },
       "annotation wscp.dev/evacuation.workspaces[0].operation", "missing"},
      {"evacuation state a number",
       [](json& l) {
         annotate(l, "wscp.dev/evacuation",
                  R"({"workspaces":[{"workspace":"ws-1","checkpointId":"c","state":3,"operation":"o"}]})");
       },
       "annotation wscp.dev/evacuation.workspaces[0].state", "must be a string"},
      {"evacuation nested deep",
       [](json& l) { annotate(l, "wscp.dev/evacuation", std::string(100, '[') + std::string(100, ']')); },
       "annotation wscp.dev/evacuation", "nested deeper"},
      {"evacuation huge", [huge](json& l) { annotate(l, "wscp.dev/evacuation", "\"" + huge + "\""); },
       "annotation wscp.dev/evacuation", "at most 262144"},
      {"spec missing", [](json& l) { l.erase("spec"); }, "spec", "JSON object"},
      {"renewTime missing", [](json& l) { l["spec"].erase("renewTime"); }, "spec.renewTime", "never renewed"},
      {"renewTime garbage", [](json& l) { l["spec"]["renewTime"] = "yesterday"; }, "spec.renewTime", "RFC 3339"},
      {"renewTime a number", [](json& l) { l["spec"]["renewTime"] = 12; }, "spec.renewTime", "must be a string"},
      {"duration as text", [](json& l) { l["spec"]["leaseDurationSeconds"] = "20"; }, "spec.leaseDurationSeconds",
       "non-negative integer"},
      {"duration zero", [](json& l) { l["spec"]["leaseDurationSeconds"] = 0; }, "spec.leaseDurationSeconds",
       "at least 1"},
      {"duration forever", [](json& l) { l["spec"]["leaseDurationSeconds"] = 1000000000; },
       "spec.leaseDurationSeconds", "at most 86400"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    json lease = agent_lease("node-1", kNow);
    c.change(lease);
    Result<AgentInfo> info = Error(ErrorCode::kInternal, "not parsed");
    CHECK_NOTHROW(info = parse_agent_lease(lease, kNow));
    REQUIRE_FALSE(info.ok());
    CHECK(info.error().code() == ErrorCode::kInvalidArgument);
    const std::string& m = info.error().message();
    CHECK_MESSAGE(has(m, "Lease wscp-system/"), m);
    CHECK_MESSAGE(has(m, std::string(c.field) + ": "), m);
    CHECK_MESSAGE(has(m, c.reason), m);
    CHECK_MESSAGE(m.size() < 4096, m.size());  // hostile sizes are not echoed back
  }
}

TEST_CASE("agent lease: not an object, and several problems reported together") {
  auto not_object = parse_agent_lease(json::array(), kNow);
  REQUIRE_FALSE(not_object.ok());
  CHECK(has(not_object.error().message(), "must be a JSON object"));

  json lease = agent_lease("node-1", kNow);
  annotate(lease, "wscp.dev/endpoint", "ftp://x");
  annotate(lease, "wscp.dev/public-key-pin", "md5//abc");
  auto info = parse_agent_lease(lease, kNow);
  REQUIRE_FALSE(info.ok());
  CHECK(has(info.error().message(), "wscp.dev/endpoint"));
  CHECK(has(info.error().message(), "wscp.dev/public-key-pin"));
}

TEST_CASE("agent lease: the notice is read loosely") {
  json lease = agent_lease("node-1", kNow);
  annotate(lease, "wscp.dev/termination-notice",
           R"({"provider":7,"kind":"rebalance","deadline":"soon","future":{"x":1}})");
  auto info = parse_agent_lease(lease, kNow);
  REQUIRE_MESSAGE(info.ok(), (info.ok() ? "" : info.error().describe()));
  REQUIRE(info->termination_notice);
  CHECK(info->termination_notice->provider.empty());
  CHECK(info->termination_notice->kind == "rebalance");
  CHECK_FALSE(info->termination_notice->deadline);
}

TEST_CASE("agent endpoint: host names, IPv4, bracketed IPv6 and a trailing slash") {
  struct Case {
    const char* url;
    const char* host;
    int port;
  };
  for (const auto& c : {Case{"https://worker-7.cluster.local:9443", "worker-7.cluster.local", 9443},
                        Case{"https://10.0.3.17:1", "10.0.3.17", 1}, Case{"https://[fd00::17]:9443/", "[fd00::17]", 9443},
                        Case{"https://node:65535", "node", 65535}}) {
    CAPTURE(c.url);
    auto ep = parse_agent_endpoint(c.url);
    REQUIRE_MESSAGE(ep.ok(), (ep.ok() ? "" : ep.error().describe()));
    CHECK(ep->host == c.host);
    CHECK(ep->port == c.port);
  }
  for (const char* bad : {"https://[fd00::17:9443", "https://[zz::1]:9443", "https://:9443", "https://a..b:9443",
                          "https://-a:9443", "https://a:", "https://a:123456"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_agent_endpoint(bad).ok());
  }
}

TEST_CASE("agent directory: finds a live agent, or says why a node has none") {
  auto clock = std::make_shared<SettableClock>();
  AgentDirectory directory(clock);

  auto none = directory.find("node-1");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code() == ErrorCode::kNotFound);
  CHECK(none.error().message() == "no agent registered for node node-1");

  CHECK(directory.upsert(agent_lease("node-1", clock->wall)));
  auto found = directory.find("node-1");
  REQUIRE_MESSAGE(found.ok(), (found.ok() ? "" : found.error().describe()));
  CHECK(found->endpoint == "https://10.0.3.17:9443");
  CHECK(found->live);

  clock->wall += 21s;  // the agent stopped renewing
  auto expired = directory.find("node-1");
  REQUIRE_FALSE(expired.ok());
  CHECK(expired.error().code() == ErrorCode::kUnavailable);
  CHECK_MESSAGE(has(expired.error().message(),
                    "agent of node node-1 last renewed its Lease at 2026-01-05T10:00:00Z (expired"),
                expired.error().message());
  CHECK(directory.live_agents().empty());

  // Renewed again, but with a broken endpoint.
  json broken = agent_lease("node-1", clock->wall);
  annotate(broken, "wscp.dev/endpoint", "http://10.0.3.17:9443");
  CHECK(directory.upsert(broken));
  auto invalid = directory.find("node-1");
  REQUIRE_FALSE(invalid.ok());
  CHECK(invalid.error().code() == ErrorCode::kInvalidArgument);
  CHECK_MESSAGE(has(invalid.error().message(), "agent of node node-1 published an invalid registration: Lease "
                                               "wscp-system/wscp-agent-node-1: annotation wscp.dev/endpoint"),
                invalid.error().message());

  directory.upsert(agent_lease("node-1", clock->wall));
  CHECK(directory.find("node-1").ok());
  directory.remove("wscp-agent-node-1");
  CHECK(directory.find("node-1").error().code() == ErrorCode::kNotFound);
}

TEST_CASE("agent directory: other Leases are ignored; live agents listed by node") {
  auto clock = std::make_shared<SettableClock>();
  AgentDirectory directory(clock);
  json leader = agent_lease("x", clock->wall);
  leader["metadata"]["name"] = "wscp-controller-leader";
  CHECK_FALSE(directory.upsert(leader));
  CHECK_FALSE(directory.upsert(json::array()));
  CHECK(directory.size() == 0);

  directory.upsert(agent_lease("node-b", clock->wall));
  directory.upsert(agent_lease("node-a", clock->wall));
  directory.upsert(agent_lease("node-old", clock->wall - 60s));
  json bad = agent_lease("node-bad", clock->wall);
  bad["spec"]["renewTime"] = "never";
  directory.upsert(bad);
  CHECK(directory.size() == 4);
  auto live = directory.live_agents();
  REQUIRE(live.size() == 2);
  CHECK(live[0].node == "node-a");
  CHECK(live[1].node == "node-b");
}

TEST_CASE("agent directory: fed by informer handlers") {
  auto clock = std::make_shared<SettableClock>();
  AgentDirectory directory(clock);
  auto h = directory.informer_handlers();
  json lease = agent_lease("node-1", clock->wall);
  h.on_add(lease);
  CHECK(directory.find("node-1")->port == 9443);
  json moved = lease;
  annotate(moved, "wscp.dev/endpoint", "https://10.0.3.18:10443");
  h.on_update(lease, moved);
  CHECK(directory.find("node-1")->endpoint == "https://10.0.3.18:10443");
  h.on_delete(moved);
  CHECK(directory.find("node-1").error().code() == ErrorCode::kNotFound);
}

TEST_CASE("agent lease: readiness is true, false with the agent's reason, or unknown") {
  json lease = agent_lease("n1", kNow);
  auto info = parse_agent_lease(lease, kNow);
  REQUIRE(info.ok());
  CHECK_FALSE(info->not_ready.has_value());  // an agent that publishes none: unknown
  annotate(lease, "wscp.dev/ready", "true");
  CHECK(parse_agent_lease(lease, kNow)->not_ready == std::optional<std::string>(""));
  annotate(lease, "wscp.dev/ready", "false: Podman at /run/podman/podman.sock: connection refused");
  CHECK(parse_agent_lease(lease, kNow)->not_ready ==
        std::optional<std::string>("Podman at /run/podman/podman.sock: connection refused"));
  annotate(lease, "wscp.dev/ready", "unknown");
  CHECK_FALSE(parse_agent_lease(lease, kNow)->not_ready.has_value());
  for (const char* bad : {"yes", "false", "false: ", "TRUE"}) {
    annotate(lease, "wscp.dev/ready", bad);
    auto refused = parse_agent_lease(lease, kNow);
    REQUIRE_FALSE(refused.ok());
    CHECK_MESSAGE(refused.error().message().find("annotation wscp.dev/ready") != std::string::npos, bad);
  }
}
