#include "kube/base64.h"

#include <doctest/doctest.h>

using namespace wscp::kube;

TEST_CASE("base64: round trips and the RFC 4648 vectors") {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) {
    CAPTURE(plain);
    CHECK(base64_encode(plain) == encoded);
    auto d = base64_decode(encoded);
    REQUIRE(d.ok());
    CHECK(*d == plain);
  }
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  CHECK(*base64_decode(base64_encode(binary)) == binary);
}

TEST_CASE("base64: line breaks and missing padding are accepted") {
  CHECK(*base64_decode("Zm9v\nYmFy\n") == "foobar");
  CHECK(*base64_decode("Zm8") == "fo");
}

TEST_CASE("base64: malformed input is refused with the reason") {
  for (const char* bad : {"Zm9v!", "Z", "Zm9vY", "Zg=x", "Zg===", "Zm9v=="}) {
    CAPTURE(bad);
    auto d = base64_decode(bad);
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().message().find("not valid base64") != std::string::npos);
  }
}
