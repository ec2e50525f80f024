// SigV4 against the worked examples in the S3 documentation ("Signature
// calculations for the Authorization header", examplebucket, 2013-05-24).
#include "store/s3/sigv4.h"

#include <doctest/doctest.h>

using namespace wscp::store::s3;

namespace {

const Credentials kCreds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
const std::string kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const SigningScope kScope{"20130524T000000Z", "us-east-1", "s3"};

SigningRequest get(std::string path, std::vector<std::pair<std::string, std::string>> query,
                   std::vector<std::pair<std::string, std::string>> extra = {}) {
  SigningRequest r;
  r.method = "GET";
  r.encoded_path = std::move(path);
  r.query = std::move(query);
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"x-amz-date", "20130524T000000Z"},
               {"x-amz-content-sha256", kEmpty}};
  for (auto& h : extra) r.headers.push_back(h);
  r.payload_sha256 = kEmpty;
  return r;
}

}  // namespace

TEST_CASE("S3 example: GET object with a range") {
  auto r = get("/test.txt", {}, {{"Range", "bytes=0-9"}});
  CHECK(canonical_request(r) ==
        "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
        "x-amz-content-sha256:" + kEmpty + "\nx-amz-date:20130524T000000Z\n\n"
        "host;range;x-amz-content-sha256;x-amz-date\n" + kEmpty);
  CHECK(string_to_sign(r, kScope) ==
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  CHECK(authorization(r, kScope, kCreds) ==
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST_CASE("S3 example: PUT object whose key needs encoding") {
  SigningRequest r;
  r.method = "PUT";
  r.encoded_path = "/" + encode_key_path("test$file.text");
  CHECK(r.encoded_path == "/test%24file.text");
  const std::string payload = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"x-amz-date", "20130524T000000Z"},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
               {"x-amz-content-sha256", payload}};
  r.payload_sha256 = payload;
  CHECK(string_to_sign(r, kScope).ends_with("9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d"));
  CHECK(signature(r, kScope, kCreds.secret_access_key) ==
        "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST_CASE("S3 example: GET bucket lifecycle (empty query value)") {
  auto r = get("/", {{"lifecycle", ""}});
  CHECK(canonical_query(r.query) == "lifecycle=");
  CHECK(signature(r, kScope, kCreds.secret_access_key) ==
        "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST_CASE("S3 example: list objects (sorted query)") {
  auto r = get("/", {{"prefix", "J"}, {"max-keys", "2"}});
  CHECK(canonical_query(r.query) == "max-keys=2&prefix=J");
  CHECK(string_to_sign(r, kScope).ends_with("df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7"));
  CHECK(signature(r, kScope, kCreds.secret_access_key) ==
        "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST_CASE("S3 paths are encoded once and not normalised") {
  CHECK(encode_key_path("a b/../c+d/é") == "a%20b/../c%2Bd/%C3%A9");
  CHECK(amz_date(std::chrono::system_clock::from_time_t(1369353600)) == "20130524T000000Z");
}
