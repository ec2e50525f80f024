#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/result.h"
#include "store/encryption_key.h"

namespace wscp::migration {

// Small JSON documents the phases leave in a shared store (plan, claim,
// lock) carry an "auth" member: HMAC-SHA256, with a key derived for the
// document's kind, over the document without it. A document of one kind
// cannot pass for another, and one written without the key is refused when
// a key is configured.
//
// Adds "auth" when a key is given; returns the text to store.
std::string sign_document(nlohmann::json document, std::string_view kind, const store::EncryptionKey* key);

// Parses text (bounded by the caller) and checks its "auth" against the key
// of the ring it names, or that it has none when the ring is empty. `what`
// names the document in errors ("plan of checkpoint C"). Returns the
// document without "auth".
Result<nlohmann::json> open_document(std::string_view text, std::string_view kind, const store::Keyring& keys,
                                     const std::string& what);

}  // namespace wscp::migration
