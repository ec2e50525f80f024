#include "kube/workspace_checkpoint.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "yaml_json.h"

namespace wscp::kube {
namespace {

using nlohmann::json;
using testing::load_yaml_file;
using testing::yaml_to_json;

const std::string kSource = WSCP_SOURCE_DIR;
const std::string kCrd = kSource + "/crds/wscp.dev_workspacecheckpoints.yaml";
const std::string kSamples = kSource + "/test/kube_integration/samples";

Time at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

json schema() {
  json crd = load_yaml_file(kCrd);
  for (const auto& v : crd.at("spec").at("versions")) {
    if (v.at("name") == "v1alpha1") return v.at("schema").at("openAPIV3Schema");
  }
  FAIL("no v1alpha1 in " << kCrd);
  return {};
}

// Every field the schema declares: JSON path -> type ("map" for objects with
// additionalProperties, whose keys are data, not fields). List items are "[]".
struct SchemaFacts {
  std::map<std::string, std::string> fields;
  std::map<std::string, std::vector<std::string>> enums;
  std::set<std::string> required;
  std::vector<std::string> undescribed;
};

void walk_schema(const json& s, const std::string& path, SchemaFacts& out) {
  std::string type = s.value("type", "");
  if (type == "object" && s.contains("additionalProperties")) type = "map";
  out.fields[path] = type;
  if (s.contains("enum")) out.enums[path] = s.at("enum").get<std::vector<std::string>>();
  if (type == "object") {
    for (const auto& r : s.value("required", json::array())) out.required.insert(path + "." + r.get<std::string>());
    const json properties = s.value("properties", json::object());
    for (const auto& [name, sub] : properties.items()) {
      if (sub.value("description", "").empty()) out.undescribed.push_back(path + "." + name);
      walk_schema(sub, path + "." + name, out);
    }
  }
  if (type == "array") walk_schema(s.at("items"), path + "[]", out);
}

SchemaFacts schema_facts() {
  SchemaFacts facts;
  json root = schema();
  walk_schema(root.at("properties").at("spec"), "spec", facts);
  walk_schema(root.at("properties").at("status"), "status", facts);
  return facts;
}

// Every field a JSON document written by to_json holds, typed like the schema.
void walk_json(const json& j, const std::string& path, const std::set<std::string>& maps,
               std::map<std::string, std::string>& out) {
  if (maps.count(path) != 0) {
    out[path] = j.is_object() ? "map" : "not a map";
    return;
  }
  if (j.is_object()) {
    out[path] = "object";
    for (const auto& [k, v] : j.items()) walk_json(v, path + "." + k, maps, out);
  } else if (j.is_array()) {
    out[path] = "array";
    for (const auto& item : j) walk_json(item, path + "[]", maps, out);
  } else if (j.is_boolean()) {
    out[path] = "boolean";
  } else if (j.is_number_integer()) {
    out[path] = "integer";
  } else if (j.is_string()) {
    out[path] = "string";
  } else {
    out[path] = "unexpected " + std::string(j.type_name());
  }
}

// Not valid as a whole (several ways of naming at once): it only has every
// field set, so that to_json writes every field there is.
WorkspaceCheckpointSpec every_spec_field() {
  WorkspaceCheckpointSpec s;
  s.workspace = WorkspaceRef{"node-a", "devbox", "ws-1", "shop"};
  s.restore_from = RestoreFrom{"earlier"};
  s.destination = Destination{"node-b", {{"wscp.dev/pool", "spot"}}};
  s.checkpoint = CheckpointSettings{true, true, true, true};
  s.restore = RestoreSettings{true, "devbox-2"};
  s.compression = CompressionSettings{CompressionAlgorithm::kZstd, 5};
  s.store = "default";
  s.deadline = at("2030-01-01T10:00:00Z");
  s.reason = CheckpointReason::kDrain;
  s.ttl_seconds_after_finished = 60;
  return s;
}

// Valid, with every field set.
WorkspaceCheckpointStatus every_status_field() {
  WorkspaceCheckpointStatus s;
  s.phase = CheckpointPhase::kRestored;
  s.observed_generation = 1;
  s.conditions = {
      Condition{"WorkspaceRunning", ConditionStatus::kTrue, "Restored", "running on node-b", 1,
                at("2030-01-01T10:00:05Z")},
      Condition{"Checkpointed", ConditionStatus::kTrue, "ManifestWritten", "", 1, at("2030-01-01T10:00:03Z")},
  };
  s.source_node = "node-a";
  s.destination_node = "node-b";
  s.workspace_id = "ws-1";
  s.decision = MigrationDecision::kRestore;
  s.running_on = RunningOn{"node-b", std::string(64, 'a'), "10.88.0.2"};
  s.adopted = AdoptedCheckpoint{"evac-aws-i-0abc", "evacuate-aws-i-0abc-ws-dev", "agent-store"};
  s.checkpoint_retakes = 1;
  s.checkpoint = CheckpointRecord{"20300101T100000Z-0a1b2c3d", "default", 1 << 20,
                                  "sha256:" + std::string(64, 'f'), true};
  s.timings = {StepTiming{CheckpointStep::kCheckpoint, at("2030-01-01T10:00:00Z"), at("2030-01-01T10:00:03.5Z"), 3500},
               StepTiming{CheckpointStep::kRestore, at("2030-01-01T10:00:03.5Z"), std::nullopt, std::nullopt}};
  s.criu = CriuStats{CriuCheckpointStats{1, 2, 3, 4, 5, 6}, CriuRestoreStats{7, 8, 9}};
  s.deadline = DeadlineOutcome{true, 115'000};
  s.finished_at = at("2030-01-01T10:00:05Z");
  s.message = "restored on node-b";
  return s;
}

std::string diff(const std::map<std::string, std::string>& a, const std::map<std::string, std::string>& b) {
  std::string out;
  for (const auto& [path, type] : a) {
    auto it = b.find(path);
    if (it == b.end()) out += "  " + path + " (" + type + ") is missing on the other side\n";
    else if (it->second != type) out += "  " + path + " is " + type + " here, " + it->second + " there\n";
  }
  return out;
}

// Every value of an enum, from the C++ side (to_string says "?" past the last).
template <typename E>
std::vector<std::string> cpp_enum_values() {
  std::vector<std::string> out;
  for (int i = 0;; ++i) {
    auto name = to_string(static_cast<E>(i));
    if (name == "?") return out;
    out.emplace_back(name);
  }
}

json sample_spec(const std::string& file) { return load_yaml_file(file).at("spec"); }

std::vector<std::filesystem::path> samples(const std::string& kind) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(kSamples + "/" + kind)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// The "# expect:" and "# field:" lines of an invalid sample.
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

std::vector<std::string> cel_messages() {
  std::vector<std::string> out;
  std::function<void(const json&)> walk = [&](const json& s) {
    for (const auto& rule : s.value("x-kubernetes-validations", json::array())) {
      if (rule.at("rule") != "self == oldSelf") out.push_back(rule.at("message"));
    }
    const json properties = s.value("properties", json::object());
    for (const auto& [_, sub] : properties.items()) walk(sub);
    if (s.contains("items")) walk(s.at("items"));
    if (s.contains("additionalProperties") && s.at("additionalProperties").is_object()) {
      walk(s.at("additionalProperties"));
    }
  };
  walk(schema());
  return out;
}

}  // namespace

TEST_CASE("the C++ types and the CRD schema name the same fields, with the same types") {
  SchemaFacts facts = schema_facts();
  std::set<std::string> maps;
  for (const auto& [path, type] : facts.fields) {
    if (type == "map") maps.insert(path);
  }
  std::map<std::string, std::string> cpp;
  walk_json(every_spec_field().to_json(), "spec", maps, cpp);
  walk_json(every_status_field().to_json(), "status", maps, cpp);

  std::string only_in_schema = diff(facts.fields, cpp);
  std::string only_in_cpp = diff(cpp, facts.fields);
  CHECK_MESSAGE(only_in_schema.empty(), "in the schema, not written by the C++ types:\n" << only_in_schema);
  CHECK_MESSAGE(only_in_cpp.empty(), "written by the C++ types, not in the schema:\n" << only_in_cpp);
  CHECK(facts.fields.size() > 60);  // the walk saw the whole schema
}

TEST_CASE("every enum of the schema has the same values as its C++ enum") {
  SchemaFacts facts = schema_facts();
  std::map<std::string, std::vector<std::string>> cpp{
      {"spec.reason", cpp_enum_values<CheckpointReason>()},
      {"spec.compression.algorithm", cpp_enum_values<CompressionAlgorithm>()},
      {"status.phase", cpp_enum_values<CheckpointPhase>()},
      {"status.conditions[].status", cpp_enum_values<ConditionStatus>()},
      {"status.timings[].step", cpp_enum_values<CheckpointStep>()},
      {"status.decision", cpp_enum_values<MigrationDecision>()},
  };
  for (const auto& [path, values] : facts.enums) {
    INFO(path);
    REQUIRE_MESSAGE(cpp.count(path) == 1, "an enum in the schema without a C++ enum");
    auto join = [](const std::vector<std::string>& v) {
      std::string out;
      for (const auto& x : v) out += (out.empty() ? "" : ",") + x;
      return out;
    };
    CHECK(join(values) == join(cpp.at(path)));
  }
  CHECK(facts.enums.size() == cpp.size());
  CHECK(parse_checkpoint_reason("SpotInterruption").value() == CheckpointReason::kSpotInterruption);
}

TEST_CASE("every field of the schema is described") {
  SchemaFacts facts = schema_facts();
  std::string list;
  for (const auto& p : facts.undescribed) list += " " + p;
  CHECK_MESSAGE(facts.undescribed.empty(), "fields without a description:" << list);
}

TEST_CASE("a field the schema requires is required by from_json too") {
  SchemaFacts facts = schema_facts();
  json status = every_status_field().to_json();
  json restore_from = sample_spec(kSamples + "/valid/restore-from.yaml");
  int checked = 0;
  for (const auto& path : facts.required) {
    INFO(path);
    // Remove the field from a document that is valid without the removal.
    json doc = path.rfind("status.", 0) == 0 ? status : restore_from;
    std::string rest = path.substr(path.find('.') + 1);
    json* node = &doc;
    while (true) {
      auto dot = rest.find('.');
      std::string key = rest.substr(0, dot);
      bool list = key.size() > 2 && key.substr(key.size() - 2) == "[]";
      if (list) key.resize(key.size() - 2);
      REQUIRE_MESSAGE(node->contains(key), "no valid document holds " << path);
      if (dot == std::string::npos) {
        node->erase(key);
        break;
      }
      node = list ? &(*node)[key][0] : &(*node)[key];
      rest = rest.substr(dot + 1);
    }
    std::string error = path.rfind("status.", 0) == 0 ? WorkspaceCheckpointStatus::from_json(doc).error().message()
                                                      : WorkspaceCheckpointSpec::from_json(doc).error().message();
    CHECK(error.find("is required") != std::string::npos);
    ++checked;
  }
  CHECK(checked >= 10);
}

TEST_CASE("a status round-trips through JSON") {
  WorkspaceCheckpointStatus s = every_status_field();
  json j = s.to_json();
  auto back = WorkspaceCheckpointStatus::from_json(j);
  REQUIRE_MESSAGE(back.ok(), back.error().message());
  CHECK(*back == s);
  CHECK(back->to_json() == j);
  CHECK(j.at("timings")[1].at("startedAt") == "2030-01-01T10:00:03.5Z");
  REQUIRE(back->condition("WorkspaceRunning") != nullptr);
  CHECK(back->condition("WorkspaceRunning")->status == ConditionStatus::kTrue);
  CHECK(back->condition("Restored") == nullptr);

  auto empty = WorkspaceCheckpointStatus::from_json(json::object());
  REQUIRE(empty.ok());
  CHECK(empty->to_json() == json::object());
}

TEST_CASE("every valid sample reads, and writes back as it was") {
  auto files = samples("valid");
  REQUIRE(files.size() >= 6);
  for (const auto& file : files) {
    INFO(file.filename().string());
    json j = sample_spec(file);
    auto spec = WorkspaceCheckpointSpec::from_json(j);
    REQUIRE_MESSAGE(spec.ok(), spec.error().message());
    json written = spec->to_json();
    auto again = WorkspaceCheckpointSpec::from_json(written);
    REQUIRE(again.ok());
    CHECK(*again == *spec);
    // What the API server stores: the default reason filled in.
    if (!j.contains("reason")) j["reason"] = "Manual";
    if (file.filename() != "workspace-id-automatic.yaml") CHECK(written == j);  // that one has an offset time
  }
  auto automatic = WorkspaceCheckpointSpec::from_json(sample_spec(kSamples + "/valid/workspace-id-automatic.yaml"));
  REQUIRE(automatic.ok());
  CHECK(automatic->destination->automatic());
  CHECK(automatic->reason == CheckpointReason::kSpotInterruption);
  CHECK(format_rfc3339(*automatic->deadline) == "2030-01-01T09:02:00.25Z");
}

TEST_CASE("every invalid sample is refused, with the CRD's message for its CEL rule") {
  std::vector<std::string> messages = cel_messages();
  std::set<std::string> covered;
  auto files = samples("invalid");
  REQUIRE(files.size() >= 20);
  for (const auto& file : files) {
    INFO(file.filename().string());
    auto header = sample_header(file);
    REQUIRE(header.count("expect") == 1);
    REQUIRE(header.count("field") == 1);
    json doc = load_yaml_file(file);
    if (!doc.contains("spec")) continue;  // an object without spec: the API server's check alone
    auto spec = WorkspaceCheckpointSpec::from_json(doc.at("spec"));
    REQUIRE_FALSE(spec.ok());
    const std::string& error = spec.error().message();
    CHECK(spec.error().code() == ErrorCode::kInvalidArgument);
    CHECK_MESSAGE(error.rfind(header.at("field") + ":", 0) == 0, error);
    for (const auto& m : messages) {
      if (m.rfind(header.at("expect"), 0) == 0) {
        CHECK_MESSAGE(error.find(m) != std::string::npos, error);
        covered.insert(m);
      }
    }
  }
  for (const auto& m : messages) CHECK_MESSAGE(covered.count(m) == 1, "no invalid sample for: " << m);
}

TEST_CASE("bad input is refused with the field and what is wrong") {
  auto spec_error = [](const char* text) {
    auto r = WorkspaceCheckpointSpec::from_json(json::parse(text));
    REQUIRE_FALSE(r.ok());
    return r.error().message();
  };
  CHECK(spec_error(R"({"workspace": {"workspaceId": "w"}, "reason": "Whim"})") ==
        "spec.reason: reason 'Whim' is not one of Manual, SpotInterruption, Rebalance, Maintenance, Drain");
  CHECK(spec_error(R"({"workspace": {"workspaceId": 7}})") == "spec.workspace.workspaceId: must be a string, not an integer");
  CHECK(spec_error(R"({"workspace": {"workspaceId": "w"}, "ttlSecondsAfterFinished": -1})") ==
        "spec.ttlSecondsAfterFinished: -1 is less than the minimum 0");
  CHECK(spec_error(R"({"workspace": {"workspaceId": "w"}, "ttlSecondsAfterFinished": 2147483648})") ==
        "spec.ttlSecondsAfterFinished: 2147483648 is more than the maximum 2147483647");
  CHECK(spec_error(R"({"workspace": {"workspaceId": "w"}, "ttlSecondsAfterFinished": 1.5})") ==
        "spec.ttlSecondsAfterFinished: must be an integer, not a number");
  CHECK(spec_error(R"({"workspace": {"workspaceId": "w"}, "checkpoint": {"leaveRunning": "yes"}})") ==
        "spec.checkpoint.leaveRunning: must be true or false, not a string");
  CHECK(spec_error(R"({"workspace": {"workspaceId": "w"}, "compression": {"level": 0}})") ==
        "spec.compression.level: 0 is less than the minimum 1");
  CHECK(spec_error(R"({"workspace": {"workspaceId": "w"}, "deadline": "2030-02-30T00:00:00Z"})").find(
            "spec.deadline: '2030-02-30T00:00:00Z' is not an RFC 3339 time") == 0);
  CHECK(spec_error(R"({"workspace": {"node": "Node_A", "container": "c"}})").find(
            "spec.workspace.node: 'Node_A' is not a node name") == 0);
  CHECK(spec_error(R"({"workspace": {"workspaceId": "w"}, "store": ""})") ==
        "spec.store: '' has 0 characters; it must have 1 to 63");
  CHECK(spec_error(R"({"workspace": {"workspaceId": "w"}, "destination": {"nodeSelector": {}}})") ==
        "spec.destination.nodeSelector: has 0 labels; it must have 1 to 16");
  CHECK(spec_error(R"({"workspace": {"workspaceId": "w"}, "destination": {"nodeSelector": {"a": "-x"}}})").find(
            "spec.destination.nodeSelector.a: '-x' is not a label value") == 0);
  CHECK(spec_error(R"({"workspace": "devbox"})") == "spec.workspace: must be an object, not a string");
  CHECK(spec_error("[]") == "spec: must be an object, not a list");

  auto status_error = [](const json& j) {
    auto r = WorkspaceCheckpointStatus::from_json(j);
    REQUIRE_FALSE(r.ok());
    return r.error().message();
  };
  json s = every_status_field().to_json();
  json wrong = s;
  wrong["phase"] = "Done";
  CHECK(status_error(wrong) ==
        "status.phase: phase 'Done' is not one of Pending, Checkpointing, Checkpointed, Restoring, Restored, Failed");
  wrong = s;
  wrong["checkpoint"]["bytes"] = -5;
  CHECK(status_error(wrong) == "status.checkpoint.bytes: -5 is less than the minimum 0");
  wrong = s;
  wrong["criu"]["checkpoint"]["frozenTimeMicroseconds"] = -1;
  CHECK(status_error(wrong) == "status.criu.checkpoint.frozenTimeMicroseconds: -1 is less than the minimum 0");
  wrong = s;
  wrong["conditions"][1]["type"] = "WorkspaceRunning";
  CHECK(status_error(wrong) ==
        "status.conditions[1]: a second entry with type WorkspaceRunning; there is at most one per type");
  wrong = s;
  wrong["conditions"][0]["status"] = true;
  CHECK(status_error(wrong) == "status.conditions[0].status: must be a string, not a boolean");
  wrong = s;
  wrong["conditions"][0]["status"] = "Yes";
  CHECK(status_error(wrong) == "status.conditions[0].status: condition status 'Yes' is not one of True, False, Unknown");
  wrong = s;
  wrong["conditions"][0]["reason"] = "not camel case";
  CHECK(status_error(wrong).find("status.conditions[0].reason: 'not camel case' is not a CamelCase reason") == 0);
  wrong = s;
  wrong["checkpoint"]["digest"] = "md5:abc";
  CHECK(status_error(wrong).find("status.checkpoint.digest: 'md5:abc' has 7 characters") == 0);
  wrong = s;
  wrong["runningOn"]["containerId"] = std::string(64, 'G');
  CHECK(status_error(wrong).find("is not a container id") != std::string::npos);
  wrong = s;
  wrong["timings"] = json::array();
  for (int i = 0; i < 17; ++i) wrong["timings"].push_back(s["timings"][0]);
  CHECK(status_error(wrong) == "status.timings: has 17 items; at most 16 are allowed");
  wrong = s;
  wrong["checkpointRetakes"] = 3;
  CHECK(status_error(wrong) == "status.checkpointRetakes: 3 is more than the maximum 2");
  wrong = s;
  wrong["deadline"]["marginMilliseconds"] = 18446744073709551615ull;
  CHECK(status_error(wrong) ==
        "status.deadline.marginMilliseconds: 18446744073709551615 is more than the maximum 9223372036854775807");

  // Unknown fields are ignored (the API server prunes them; newer CRDs may add some).
  json extra = s;
  extra["futureField"] = 1;
  CHECK(WorkspaceCheckpointStatus::from_json(extra).ok());
}

TEST_CASE("RFC 3339 times: offsets and fractions read, UTC written") {
  CHECK(format_rfc3339(at("2026-11-23T11:45:00Z")) == "2026-11-23T11:45:00Z");
  CHECK(format_rfc3339(at("2026-11-23T12:45:00+01:00")) == "2026-11-23T11:45:00Z");
  CHECK(format_rfc3339(at("2026-11-23T11:45:00.123456789Z")) == "2026-11-23T11:45:00.123456789Z");
  CHECK(format_rfc3339(at("2026-11-23t11:45:00.100-00:30")) == "2026-11-23T12:15:00.1Z");
  CHECK(format_rfc3339(at("2024-02-29T00:00:00Z")) == "2024-02-29T00:00:00Z");
  for (const char* bad : {"2026-11-23", "2026-11-23T11:45:00", "2026-11-23T24:00:00Z", "2026-13-01T00:00:00Z",
                          "2025-02-29T00:00:00Z", "2026-11-23T11:45:00.Z", "2026-11-23T11:45:00+0100",
                          "2026-11-23T11:45:00Zjunk", "2026-11-23 11:45:00Z"}) {
    INFO(bad);
    CHECK_FALSE(parse_rfc3339(bad).ok());
  }
}

TEST_CASE("final phases and automatic destinations") {
  CHECK(is_final(CheckpointPhase::kCheckpointed, false));
  CHECK_FALSE(is_final(CheckpointPhase::kCheckpointed, true));
  CHECK(is_final(CheckpointPhase::kRestored, true));
  CHECK(is_final(CheckpointPhase::kFailed, false));
  CHECK_FALSE(is_final(CheckpointPhase::kRestoring, true));
  CHECK(Destination{}.automatic());
  CHECK_FALSE(Destination{"node-b", {}}.automatic());

  WorkspaceCheckpointSpec spec;
  spec.workspace = WorkspaceRef{std::nullopt, std::nullopt, "ws-1", std::nullopt};
  CHECK(spec.validate().ok());
  spec.checkpoint = CheckpointSettings{false, false, false, true};
  spec.destination = Destination{};
  CHECK(spec.validate().error().message().rfind("spec.checkpoint.leaveRunning: checkpoint.leaveRunning keeps", 0) == 0);
  CHECK(spec.to_json() == json::parse(R"({"workspace": {"workspaceId": "ws-1"}, "destination": {},
                                          "checkpoint": {"leaveRunning": true}, "reason": "Manual"})"));
}

}  // namespace wscp::kube
