#include <doctest/doctest.h>

#include "http/client.h"

namespace wscp::http {
namespace {

TEST_CASE("url_encode keeps unreserved characters and escapes the rest") {
  CHECK(url_encode("abcXYZ019-_.~") == "abcXYZ019-_.~");
  CHECK(url_encode("localhost/box:latest") == "localhost%2Fbox%3Alatest");
  CHECK(url_encode("a b+c") == "a%20b%2Bc");
  CHECK(url_encode("\xff") == "%FF");
}

TEST_CASE("response headers are found case-insensitively") {
  Response r;
  r.headers = {{"Content-Type", "application/json"}, {"ETag", "\"x\""}};
  CHECK(r.header("content-type") == "application/json");
  CHECK(r.header("ETAG") == "\"x\"");
  CHECK_FALSE(r.header("Range").has_value());
}

TEST_CASE("a socket that does not exist is an unavailable peer, named in the error") {
  ClientConfig config;
  config.unix_socket = "/nonexistent/wscp.sock";
  auto client = make_curl_client(config);
  Request req;
  req.url = "http://d/_ping";
  auto r = client->send(req);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kUnavailable);
  CHECK(r.error().message().find("/nonexistent/wscp.sock") != std::string::npos);
}

}  // namespace
}  // namespace wscp::http
