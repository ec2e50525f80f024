// The agent's node registration (src/agent/registration) against the real
// API server of the "kube" fixture.
#include <doctest/doctest.h>

#include <atomic>

#include "agent/registration/node_registration.h"
#include "client_env.h"
#include "common/fake_clock.h"
#include "kube/api_error.h"

using namespace wscp;
using namespace wscp::kube;
using namespace wscp::kube::testing;
using namespace wscp::agent::registration;
using namespace std::chrono_literals;

namespace {

// Passes every call through; before the first update it changes the Lease
// behind the caller's back, so that update meets a real 409.
class InterferingClient final : public KubeClient {
 public:
  explicit InterferingClient(KubeClient& real) : real_(real) {}
  std::atomic<int> updates{0};
  std::atomic<bool> interfere{false};

  Result<Json> get(const Resource& r, std::string_view ns, std::string_view name, const CallOptions& o = {}) override {
    return real_.get(r, ns, name, o);
  }
  Result<ObjectList> list(const Resource& r, std::string_view ns, const ListOptions& o = {}) override {
    return real_.list(r, ns, o);
  }
  Result<Json> create(const Resource& r, const Json& obj, const WriteOptions& o = {}) override {
    return real_.create(r, obj, o);
  }
  Result<Json> update(const Resource& r, const Json& obj, const WriteOptions& o = {}) override {
    ++updates;
    if (interfere.exchange(false)) {
      Json patch{{"metadata", {{"labels", {{"someone", "else"}}}}}};
      auto p = real_.patch(r, obj["metadata"]["namespace"].get<std::string>(),
                           obj["metadata"]["name"].get<std::string>(), patch);
      REQUIRE(p.ok());
    }
    return real_.update(r, obj, o);
  }
  Result<Json> update_status(const Resource& r, const Json& obj, const WriteOptions& o = {}) override {
    return real_.update_status(r, obj, o);
  }
  Result<Json> patch(const Resource& r, std::string_view ns, std::string_view name, const Json& p,
                     const PatchOptions& o = {}) override {
    return real_.patch(r, ns, name, p, o);
  }
  Result<Json> remove(const Resource& r, std::string_view ns, std::string_view name,
                      const DeleteOptions& o = {}) override {
    return real_.remove(r, ns, name, o);
  }
  Result<Json> create_subresource(const Resource& r, std::string_view ns, std::string_view name,
                                  std::string_view sub, const Json& body, const WriteOptions& o = {}) override {
    return real_.create_subresource(r, ns, name, sub, body, o);
  }
  Status watch(const Resource& r, std::string_view ns, const WatchOptions& o, const WatchHandler& h) override {
    return real_.watch(r, ns, o, h);
  }

 private:
  KubeClient& real_;
};

std::string annotation(const Json& lease, const std::string& key) {
  return lease["metadata"]["annotations"].value(key, std::string("<missing>"));
}

// The evacuation annotation's checkpoint id, or "" when it is not a JSON object.
std::string evacuation_id(const Json& lease) {
  auto e = Json::parse(annotation(lease, kEvacuationAnnotation), nullptr, false);
  return e.is_object() ? e.value("checkpointId", std::string()) : std::string();
}

}  // namespace

TEST_CASE("registration: the Lease appears with its annotations, renews, and follows changes") {
  KubeEnv kube;
  auto client = admin_client(kube);
  const std::string ns = fresh_namespace(*client, "reg");
  RegistrationOptions o;
  o.namespace_name = ns;
  o.node = "node-1";
  o.renew_interval = 300ms;
  o.lease_duration = 2s;
  NodeRegistration reg(*client, o, system_clock(), nullptr);
  reg.update([](RegistrationInfo& i) {
    i.endpoint = "https://10.0.0.1:9443";
    i.certificate_sha256 = "ab:cd";
    i.public_key_pin = "sha256//q83vEjRWeJA=";
    i.capabilities = {"checkpoint", "restore"};
    i.capacity = {{"memoryAvailableBytes", 1024}};
  });
  reg.start();
  Json lease;
  REQUIRE(eventually(
      [&] {
        auto l = client->get(resources::kLeases, ns, "wscp-agent-node-1");
        if (!l) return false;
        lease = *l;
        return true;
      },
      10s));
  CHECK(annotation(lease, kEndpointAnnotation) == "https://10.0.0.1:9443");
  CHECK(annotation(lease, kFingerprintAnnotation) == "ab:cd");
  CHECK(annotation(lease, kPublicKeyPinAnnotation) == "sha256//q83vEjRWeJA=");
  CHECK(Json::parse(annotation(lease, kCapabilitiesAnnotation)) == Json{"checkpoint", "restore"});
  CHECK(Json::parse(annotation(lease, kCapacityAnnotation))["memoryAvailableBytes"] == 1024);
  CHECK(annotation(lease, kNoticeAnnotation).empty());
  CHECK(annotation(lease, kEvacuationAnnotation).empty());
  CHECK(annotation(lease, kReadyAnnotation) == "unknown");  // not checked yet
  CHECK(lease["spec"]["holderIdentity"] == "wscp-agent-node-1");
  const std::string first_renew = lease["spec"]["renewTime"];
  CHECK(eventually(
      [&] {
        auto l = client->get(resources::kLeases, ns, "wscp-agent-node-1");
        return l && (*l)["spec"]["renewTime"] != first_renew;
      },
      10s));

  reg.update([](RegistrationInfo& i) {
    i.capacity = {{"memoryAvailableBytes", 2048}};
    i.termination_notice = Json{{"provider", "aws"}, {"kind", "termination"}};
    i.evacuation = Json{{"checkpointId", "notice-aws-1"}, {"workspaces", Json::array()}};
  });
  CHECK(eventually(
      [&] {
        auto l = client->get(resources::kLeases, ns, "wscp-agent-node-1");
        return l && annotation(*l, kCapacityAnnotation).find("2048") != std::string::npos &&
               annotation(*l, kNoticeAnnotation).find("aws") != std::string::npos &&
               evacuation_id(*l) == "notice-aws-1";
      },
      10s));
  reg.stop();
}

TEST_CASE("registration: a conflict on update is retried from a fresh read") {
  KubeEnv kube;
  auto real = admin_client(kube);
  const std::string ns = fresh_namespace(*real, "reg409");
  InterferingClient client(*real);
  RegistrationOptions o;
  o.namespace_name = ns;
  o.node = "node-2";
  NodeRegistration reg(client, o, system_clock(), nullptr);
  reg.update([](RegistrationInfo& i) { i.endpoint = "https://a:1"; });
  REQUIRE(reg.renew().ok());  // creates
  reg.update([](RegistrationInfo& i) { i.endpoint = "https://b:2"; });
  client.interfere = true;
  auto renewed = reg.renew();
  REQUIRE_MESSAGE(renewed.ok(), (renewed.ok() ? "" : renewed.error().describe()));
  CHECK(client.updates == 2);  // the first met the conflict
  auto lease = real->get(resources::kLeases, ns, "wscp-agent-node-2");
  REQUIRE(lease.ok());
  CHECK(annotation(*lease, kEndpointAnnotation) == "https://b:2");
  CHECK((*lease)["metadata"]["labels"]["someone"] == "else");  // the other writer's change kept
}

TEST_CASE("registration: a live Lease of another holder is refused by name; an expired one is taken over") {
  KubeEnv kube;
  auto client = admin_client(kube);
  const std::string ns = fresh_namespace(*client, "regholder");
  auto clock = std::make_shared<wscp::testing::FakeClock>();
  clock->sleep_for(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch()));  // the fake clock starts at the real time
  RegistrationOptions o;
  o.namespace_name = ns;
  o.node = "node-3";
  o.lease_duration = 20s;
  o.holder = "node-3/aaaa";
  NodeRegistration first(*client, o, clock, nullptr);
  REQUIRE(first.renew().ok());

  o.holder = "node-3/bbbb";  // another agent given the same node name
  NodeRegistration second(*client, o, clock, nullptr);
  second.update([](RegistrationInfo& i) { i.endpoint = "https://intruder:1"; });
  auto refused = second.renew();
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kConflict);
  CHECK(refused.error().message().find("node-3/aaaa") != std::string::npos);
  CHECK(refused.error().message().find("two agents were given node_name node-3") != std::string::npos);
  auto lease = client->get(resources::kLeases, ns, "wscp-agent-node-3");
  REQUIRE(lease.ok());
  CHECK((*lease)["spec"]["holderIdentity"] == "node-3/aaaa");
  CHECK(annotation(*lease, kEndpointAnnotation) != "https://intruder:1");

  CHECK(first.renew().ok());  // the holder itself renews as before
  clock->sleep_for(30s);      // the first agent is gone: its Lease expires
  auto taken = second.renew();
  REQUIRE_MESSAGE(taken.ok(), (taken.ok() ? "" : taken.error().describe()));
  CHECK((*taken)["spec"]["holderIdentity"] == "node-3/bbbb");
  CHECK(annotation(*taken, kEndpointAnnotation) == "https://intruder:1");
}
