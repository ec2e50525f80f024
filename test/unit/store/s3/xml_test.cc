#include "store/s3/xml.h"

#include <doctest/doctest.h>

#include "store/s3/http_time.h"

using namespace wscp;
using namespace wscp::store::s3;

namespace {

std::string listing(const std::string& contents, const std::string& tail = "<IsTruncated>false</IsTruncated>") {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
         "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>" +
         contents + tail + "</ListBucketResult>";
}

std::string object(const std::string& key, const std::string& size,
                   const std::string& modified = "2026-11-23T09:41:00.000Z") {
  return "<Contents><Key>" + key + "</Key><LastModified>" + modified + "</LastModified><ETag>&quot;e&quot;</ETag>"
         "<Size>" + size + "</Size></Contents>";
}

}  // namespace

TEST_CASE("S3 answers parse into typed values") {
  auto l = parse_list_objects(listing(object("a&amp;b", "12") + object("c", "0"),
                                      "<IsTruncated>true</IsTruncated><NextContinuationToken>t1</NextContinuationToken>"));
  REQUIRE_MESSAGE(l, (l ? "" : l.error().describe()));
  REQUIRE(l->objects.size() == 2);
  CHECK(l->objects[0].key == "a&b");
  CHECK(l->objects[0].size == 12u);
  CHECK(l->objects[0].etag == "\"e\"");
  CHECK(l->objects[0].last_modified == *parse_iso8601("2026-11-23T09:41:00Z"));
  CHECK(l->truncated);
  CHECK(l->next_token == "t1");

  auto id = parse_initiate_upload("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                                  "<UploadId>abc-123</UploadId></InitiateMultipartUploadResult>");
  REQUIRE(id);
  CHECK(*id == "abc-123");

  auto u = parse_list_uploads("<ListMultipartUploadsResult><Upload><Key>k</Key><UploadId>u1</UploadId>"
                              "<Initiated>2026-11-23T09:41:00.000Z</Initiated></Upload>"
                              "<IsTruncated>false</IsTruncated></ListMultipartUploadsResult>");
  REQUIRE(u);
  REQUIRE(u->uploads.size() == 1);
  CHECK(u->uploads[0].upload_id == "u1");

  auto e = parse_error_answer("<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>");
  REQUIRE(e);
  CHECK(e->code == "NoSuchKey");
  CHECK(e->message == "gone");
  CHECK_FALSE(parse_error_answer("<html><body>502 Bad Gateway</body></html>"));
  CHECK_FALSE(parse_error_answer(""));
}

TEST_CASE("hostile S3 answers are errors, never exceptions or defaults") {
  auto refused = [](const Result<ObjectListing>& r) {
    if (r) return false;
    INFO(r.error().describe());
    CHECK(r.error().code() == ErrorCode::kUnavailable);
    CHECK(r.error().message().find("malformed") != std::string::npos);
    return true;
  };
  // Missing fields.
  CHECK(refused(parse_list_objects(listing("<Contents><Key>a</Key><LastModified>2026-11-23T09:41:00Z</LastModified>"
                                           "</Contents>"))));
  CHECK(refused(parse_list_objects(listing("<Contents><Size>1</Size><LastModified>2026-11-23T09:41:00Z</LastModified>"
                                           "</Contents>"))));
  CHECK(refused(parse_list_objects(listing("", "<IsTruncated>true</IsTruncated>"))));
  // Wrong types.
  CHECK(refused(parse_list_objects(listing(object("a", "-1")))));
  CHECK(refused(parse_list_objects(listing(object("a", "1e3")))));
  CHECK(refused(parse_list_objects(listing(object("a", " 12")))));
  CHECK(refused(parse_list_objects(listing(object("a", "18446744073709551616")))));
  CHECK(refused(parse_list_objects(listing(object("a", "<b>1</b>")))));
  CHECK(refused(parse_list_objects(listing(object("a", "1", "yesterday")))));
  CHECK(refused(parse_list_objects(listing(object("a", "1", "2026-02-30T00:00:00Z")))));
  CHECK(refused(parse_list_objects(listing(object("a", "1"), "<IsTruncated>maybe</IsTruncated>"))));
  // Duplicated fields.
  CHECK(refused(parse_list_objects(listing("<Contents><Key>a</Key><Key>b</Key><Size>1</Size>"
                                           "<LastModified>2026-11-23T09:41:00Z</LastModified></Contents>"))));
  // Not XML, wrong document, an error answered with 200.
  CHECK(refused(parse_list_objects("")));
  CHECK(refused(parse_list_objects("<ListBucketResult><Contents>")));
  CHECK(refused(parse_list_objects("<html>proxy login</html>")));
  CHECK(refused(parse_list_objects("<Error><Code>InternalError</Code></Error>")));
  CHECK_FALSE(parse_initiate_upload("<InitiateMultipartUploadResult><UploadId></UploadId></InitiateMultipartUploadResult>"));
  CHECK_FALSE(parse_initiate_upload("<InitiateMultipartUploadResult/>"));
  // An over-long field.
  CHECK(refused(parse_list_objects(listing(object(std::string(5000, 'k'), "1")))));
}

TEST_CASE("huge, deeply nested and entity-laden XML is handled within bounds") {
  // Deeper than any recursive parser's stack would allow.
  std::string deep;
  for (int i = 0; i < 200000; ++i) deep += "<a>";
  Result<ObjectListing> r = Error(ErrorCode::kInternal, "not run");
  CHECK_NOTHROW(r = parse_list_objects(listing(deep)));
  CHECK_FALSE(r);
  CHECK_FALSE(parse_error_answer(deep));
  // Larger than any answer S3 sends.
  std::string huge = listing(std::string(kMaxXmlAnswer, ' '));
  r = parse_list_objects(huge);
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("larger than") != std::string::npos);
  // Entities: no DTD is read, so a "billion laughs" expands to nothing.
  std::string laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                       "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
                       "<Error><Code>&lol2;</Code></Error>";
  auto e = parse_error_answer(laughs);
  if (e) CHECK(e->code.size() < 64);
  // Character references out of range do not throw.
  auto big = parse_error_answer("<Error><Code>&#99999999999999999999;</Code></Error>");
  if (big) CHECK(big->code.size() < 64);
}

TEST_CASE("timestamps are read strictly") {
  CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == std::chrono::system_clock::from_time_t(784111777));
  CHECK_FALSE(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"));
  CHECK_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"));
  CHECK_FALSE(parse_http_date("Sun, 36 Nov 1994 08:49:37 GMT"));
  CHECK_FALSE(parse_http_date("Sun, 06 Nox 1994 08:49:37 GMT"));
  CHECK_FALSE(parse_http_date(""));
  CHECK(parse_iso8601("1994-11-06T08:49:37.123Z") == std::chrono::system_clock::from_time_t(784111777));
  CHECK(parse_iso8601("1994-11-06T08:49:37Z") == std::chrono::system_clock::from_time_t(784111777));
  CHECK_FALSE(parse_iso8601("1994-11-06T08:49:37+01:00"));
  CHECK_FALSE(parse_iso8601("1994-11-06 08:49:37Z"));
  CHECK_FALSE(parse_iso8601("1994-13-06T08:49:37Z"));
  CHECK_FALSE(parse_iso8601("1994-11-06T08:49:37.Z"));
}

TEST_CASE("text is escaped for the XML wscp sends") {
  CHECK(xml_escape("\"a<b>&'\"") == "&quot;a&lt;b&gt;&amp;&apos;&quot;");
}
