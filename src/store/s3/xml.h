#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace wscp::store::s3 {

// S3's XML answers, parsed with pugixml into typed values. Every answer is
// treated as hostile: a missing field, a number that is not one (or does not
// fit), a bad timestamp or an over-long text is an error (kUnavailable: the
// server or something between it and us answered nonsense), never an
// exception and never a default that could be mistaken for data. No DTD is
// read and no entity beyond XML's five and character references is expanded.

// Answers larger than this are refused before parsing.
inline constexpr std::size_t kMaxXmlAnswer = 16 << 20;

// <Error><Code>…</Code><Message>…</Message></Error>; nullopt when the body is
// not such a document (empty, HTML from a proxy, …).
struct ErrorAnswer {
  std::string code;
  std::string message;
};
std::optional<ErrorAnswer> parse_error_answer(std::string_view xml);

// InitiateMultipartUploadResult: the upload id.
Result<std::string> parse_initiate_upload(std::string_view xml);

// ListBucketResult (ListObjectsV2).
struct ListedObject {
  std::string key;  // full key, prefix included
  std::uint64_t size = 0;
  std::chrono::system_clock::time_point last_modified;
  std::string etag;
};
struct ObjectListing {
  std::vector<ListedObject> objects;
  bool truncated = false;
  std::string next_token;  // set when truncated
};
Result<ObjectListing> parse_list_objects(std::string_view xml);

// ListMultipartUploadsResult.
struct ListedUpload {
  std::string key;
  std::string upload_id;
  std::chrono::system_clock::time_point initiated;
};
struct UploadListing {
  std::vector<ListedUpload> uploads;
  bool truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};
Result<UploadListing> parse_list_uploads(std::string_view xml);

// CompleteMultipartUploadResult (an <Error> document answered with 200 is
// returned as that error's answer instead).
struct CompletedUpload {
  std::string etag;
};
Result<CompletedUpload> parse_complete_upload(std::string_view xml);

std::string xml_escape(std::string_view text);

}  // namespace wscp::store::s3
