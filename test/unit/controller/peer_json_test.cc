#include "controller/peer_json.h"

#include <doctest/doctest.h>

using namespace wscp::controller;
using nlohmann::json;

TEST_CASE("peer json: excerpts are bounded and escape what could forge a log line") {
  CHECK(excerpt("plain") == "plain");
  CHECK(excerpt("a\nb\"c\xff") == "a\\x0ab\"c\\xff");
  CHECK(excerpt(std::string(500, 'x'), 10) == "xxxxxxxxxx...");
}

TEST_CASE("peer json: fields of the wrong type or size are problems, never exceptions") {
  FieldProblems p;
  CHECK_FALSE(read_string(json(5), 10, "a", p));
  CHECK_FALSE(read_string(json("toolongtext"), 5, "b", p));
  CHECK_FALSE(read_string(json(""), 5, "c", p));
  CHECK(read_string(json(""), 5, "d", p, true) == "");
  CHECK_FALSE(read_unsigned(json(-1), "e", p));
  CHECK_FALSE(read_unsigned(json(1.5), "f", p));
  CHECK_FALSE(read_unsigned(json(300), "g", p, 255));
  CHECK(read_unsigned(json(255), "h", p, 255) == 255u);
  CHECK_FALSE(read_bool(json("true"), "i", p));
  CHECK_FALSE(parse_bounded("{", 10, "j", p));
  CHECK_FALSE(parse_bounded("[1,2,3]", 3, "k", p));
  CHECK_FALSE(parse_bounded("[[[[1]]]]", 100, "l", p, 2));
  CHECK(parse_bounded("[[1]]", 100, "m", p, 2).has_value());
  const std::string all = p.joined();
  for (const char* f : {"a: ", "b: ", "c: ", "e: ", "f: ", "g: ", "i: ", "j: "}) CHECK_MESSAGE(all.find(f) != std::string::npos, all);
  CHECK(all.find("and 2 more") != std::string::npos);  // 10 problems, 8 shown
}
