#include "store/s3/xml.h"

#include <pugixml.hpp>

#include "store/parse_number.h"
#include "store/s3/http_time.h"

namespace wscp::store::s3 {
namespace {

// Longest text accepted in any field (keys are at most 1024 bytes; upload
// ids, tokens and messages are far shorter on every known server).
constexpr std::size_t kMaxField = 4096;

Error malformed(std::string_view what, const std::string& why) {
  return Error(ErrorCode::kUnavailable, "the server's " + std::string(what) + " answer is malformed: " + why +
                                            " (is the endpoint an S3 server, and not a proxy's page?)");
}

// Parses into `doc`; "" on success, else why not.
std::string load(pugi::xml_document& doc, std::string_view xml) {
  if (xml.size() > kMaxXmlAnswer) return "it is larger than " + std::to_string(kMaxXmlAnswer) + " bytes";
  // parse_default minus nothing risky: no DOCTYPE processing, no external
  // entities (pugixml has neither), escapes limited to XML's own.
  auto result = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!result) return std::string("not well-formed XML (") + result.description() + " at byte " +
                      std::to_string(result.offset) + ")";
  return "";
}

// The text of the one child element `name` (nullopt when absent).
Result<std::optional<std::string>> child_text(const pugi::xml_node& parent, const char* name, std::string_view what) {
  pugi::xml_node child = parent.child(name);
  if (!child) return std::optional<std::string>();
  if (child.next_sibling(name)) return malformed(what, std::string("<") + name + "> appears twice");
  if (child.first_child() && child.first_child().type() == pugi::node_element) {
    return malformed(what, std::string("<") + name + "> holds elements instead of text");
  }
  std::string text = child.text().get();
  if (text.size() > kMaxField) return malformed(what, std::string("<") + name + "> is too long");
  return std::optional<std::string>(std::move(text));
}

Result<std::string> required_text(const pugi::xml_node& parent, const char* name, std::string_view what) {
  auto t = child_text(parent, name, what);
  if (!t) return t.error();
  if (!*t || (*t)->empty()) return malformed(what, std::string("<") + name + "> is missing or empty");
  return std::move(**t);
}

Result<bool> bool_field(const pugi::xml_node& parent, const char* name, std::string_view what) {
  auto t = child_text(parent, name, what);
  if (!t) return t.error();
  if (!*t) return false;
  if (**t == "true") return true;
  if (**t == "false") return false;
  return malformed(what, std::string("<") + name + "> is '" + **t + "', not true or false");
}

Result<std::uint64_t> size_field(const pugi::xml_node& parent, const char* name, std::string_view what) {
  auto t = required_text(parent, name, what);
  if (!t) return t.error();
  auto v = parse_decimal(*t);
  if (!v) return malformed(what, std::string("<") + name + "> '" + t->substr(0, 40) + "' is not a size");
  return *v;
}

Result<std::chrono::system_clock::time_point> time_field(const pugi::xml_node& parent, const char* name,
                                                         std::string_view what) {
  auto t = required_text(parent, name, what);
  if (!t) return t.error();
  auto v = parse_iso8601(*t);
  if (!v) return malformed(what, std::string("<") + name + "> '" + t->substr(0, 40) + "' is not a timestamp");
  return *v;
}

Result<pugi::xml_node> root(pugi::xml_document& doc, std::string_view xml, const char* name, std::string_view what) {
  auto why = load(doc, xml);
  if (!why.empty()) return malformed(what, why);
  pugi::xml_node r = doc.document_element();
  if (std::string_view(r.name()) == "Error") {
    auto e = parse_error_answer(xml);
    return malformed(what, "it is an error: " + (e ? e->code + " " + e->message : std::string("unreadable")));
  }
  if (std::string_view(r.name()) != name) {
    return malformed(what, "its root is <" + std::string(r.name()).substr(0, 64) + ">, not <" + name + ">");
  }
  return r;
}

}  // namespace

std::optional<ErrorAnswer> parse_error_answer(std::string_view xml) {
  pugi::xml_document doc;
  if (!load(doc, xml).empty()) return std::nullopt;
  pugi::xml_node r = doc.document_element();
  if (std::string_view(r.name()) != "Error") return std::nullopt;
  ErrorAnswer e;
  auto code = child_text(r, "Code", "error");
  auto message = child_text(r, "Message", "error");
  if (code && *code) e.code = std::move(**code);
  if (message && *message) e.message = std::move(**message);
  if (e.code.size() > 128) e.code.resize(128);
  if (e.message.size() > 512) e.message.resize(512);
  return e;
}

Result<std::string> parse_initiate_upload(std::string_view xml) {
  pugi::xml_document doc;
  auto r = root(doc, xml, "InitiateMultipartUploadResult", "start multipart upload");
  if (!r) return r.error();
  return required_text(*r, "UploadId", "start multipart upload");
}

Result<ObjectListing> parse_list_objects(std::string_view xml) {
  constexpr std::string_view what = "list objects";
  pugi::xml_document doc;
  auto r = root(doc, xml, "ListBucketResult", what);
  if (!r) return r.error();
  ObjectListing out;
  for (pugi::xml_node c = r->child("Contents"); c; c = c.next_sibling("Contents")) {
    ListedObject o;
    auto key = required_text(c, "Key", what);
    if (!key) return key.error();
    o.key = std::move(*key);
    auto size = size_field(c, "Size", what);
    if (!size) return size.error();
    o.size = *size;
    auto modified = time_field(c, "LastModified", what);
    if (!modified) return modified.error();
    o.last_modified = *modified;
    auto etag = child_text(c, "ETag", what);
    if (!etag) return etag.error();
    if (*etag) o.etag = std::move(**etag);
    out.objects.push_back(std::move(o));
  }
  auto truncated = bool_field(*r, "IsTruncated", what);
  if (!truncated) return truncated.error();
  out.truncated = *truncated;
  if (out.truncated) {
    auto token = required_text(*r, "NextContinuationToken", what);
    if (!token) return token.error();
    out.next_token = std::move(*token);
  }
  return out;
}

Result<UploadListing> parse_list_uploads(std::string_view xml) {
  constexpr std::string_view what = "list multipart uploads";
  pugi::xml_document doc;
  auto r = root(doc, xml, "ListMultipartUploadsResult", what);
  if (!r) return r.error();
  UploadListing out;
  for (pugi::xml_node u = r->child("Upload"); u; u = u.next_sibling("Upload")) {
    ListedUpload l;
    auto key = required_text(u, "Key", what);
    if (!key) return key.error();
    l.key = std::move(*key);
    auto id = required_text(u, "UploadId", what);
    if (!id) return id.error();
    l.upload_id = std::move(*id);
    auto initiated = time_field(u, "Initiated", what);
    if (!initiated) return initiated.error();
    l.initiated = *initiated;
    out.uploads.push_back(std::move(l));
  }
  auto truncated = bool_field(*r, "IsTruncated", what);
  if (!truncated) return truncated.error();
  out.truncated = *truncated;
  if (out.truncated) {
    auto key_marker = required_text(*r, "NextKeyMarker", what);
    if (!key_marker) return key_marker.error();
    out.next_key_marker = std::move(*key_marker);
    auto id_marker = child_text(*r, "NextUploadIdMarker", what);
    if (!id_marker) return id_marker.error();
    if (*id_marker) out.next_upload_id_marker = std::move(**id_marker);
  }
  return out;
}

Result<CompletedUpload> parse_complete_upload(std::string_view xml) {
  constexpr std::string_view what = "complete multipart upload";
  pugi::xml_document doc;
  auto r = root(doc, xml, "CompleteMultipartUploadResult", what);
  if (!r) return r.error();
  CompletedUpload out;
  auto etag = child_text(*r, "ETag", what);
  if (!etag) return etag.error();
  if (*etag) out.etag = std::move(**etag);
  return out;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace wscp::store::s3
