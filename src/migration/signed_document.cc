#include "migration/signed_document.h"

#include "store/crypto.h"

namespace wscp::migration {
namespace {

using nlohmann::json;
constexpr std::string_view kAlgorithm = "hmac-sha256";

std::string mac_of(const json& unsigned_document, std::string_view kind, const store::EncryptionKey& key) {
  auto mac_key = key.derive(std::string(kind) + " mac");
  return store::to_hex(store::hmac_sha256(mac_key, "wscp " + std::string(kind) + "\n" + unsigned_document.dump()));
}

}  // namespace

std::string sign_document(json document, std::string_view kind, const store::EncryptionKey* key) {
  document.erase("auth");
  if (key != nullptr) {
    document["auth"] = json{{"algorithm", kAlgorithm}, {"key_id", key->id}, {"mac", mac_of(document, kind, *key)}};
  }
  return document.dump(2) + "\n";
}

Result<json> open_document(std::string_view text, std::string_view kind, const store::Keyring& keys,
                           const std::string& what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Error(ErrorCode::kIntegrity, what + " is not a JSON object: refusing it");
  }
  auto auth = j.find("auth");
  if (keys.empty()) {
    if (auth != j.end()) {
      return Error(ErrorCode::kPermissionDenied, what + " is authenticated but no key is configured: configure the "
                                                        "store's key to use it");
    }
    return j;
  }
  if (auth == j.end() || !auth->is_object()) {
    return Error(ErrorCode::kIntegrity, what + " is not authenticated but a key is configured: refusing it (it may "
                                               "have been replaced)");
  }
  const json& a = *auth;
  auto text_of = [&](const char* field) -> std::string {
    auto it = a.find(field);
    return it != a.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (text_of("algorithm") != kAlgorithm) {
    return Error(ErrorCode::kIntegrity, what + ": authentication '" + text_of("algorithm") + "' is not supported");
  }
  const store::EncryptionKey* key = keys.find(text_of("key_id"));
  if (key == nullptr) {
    return Error(ErrorCode::kPermissionDenied, what + " was authenticated with key " + text_of("key_id") +
                                                   " but the configured keys are " + keys.ids() +
                                                   ": add the key it was made with to the keyring");
  }
  const std::string mac = text_of("mac");
  json body = j;
  body.erase("auth");
  if (!store::equal_constant_time(mac, mac_of(body, kind, *key))) {
    return Error(ErrorCode::kIntegrity, what + ": MAC does not match: it was altered; refusing it");
  }
  return body;
}

}  // namespace wscp::migration
