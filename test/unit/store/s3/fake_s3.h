#pragma once

// An in-memory S3 server behind the http::Client interface, for unit tests of
// the S3 backend's logic (the MinIO integration tests cover the real thing).
// It speaks the path-style subset wscp uses: PUT/GET/HEAD/DELETE objects
// (ranges, If-None-Match: *, If-Match), multipart uploads, ListObjectsV2 and
// ListMultipartUploads, with a settable clock and hooks to inject faults.

#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/time_format.h"
#include "http/client.h"
#include "store/crypto.h"

namespace wscp::store::testing {

class FakeS3 : public http::Client {
 public:
  struct Object {
    std::string data;
    std::string etag;  // with quotes, as S3 sends it
    std::chrono::system_clock::time_point modified;
    std::vector<http::Header> meta;  // x-amz-meta-*
  };
  struct Upload {
    std::string key;
    std::chrono::system_clock::time_point initiated;
    std::map<int, std::string> parts;
    std::vector<http::Header> meta;
  };
  struct Call {
    std::string method;
    std::string key;    // decoded, bucket stripped
    std::map<std::string, std::string> query;
    const http::Request* request;
  };

  std::string bucket = "bucket";
  std::chrono::system_clock::time_point now = std::chrono::system_clock::from_time_t(1'800'000'000);
  bool ignore_range = false;         // answer GET with 200 and the whole object
  bool honour_if_none_match = true;
  bool honour_delete_if_match = true;
  std::size_t chunk = 64 * 1024;     // bytes per sink write, like a transport would
  // Called before a request is served; an answer returned here is sent instead.
  std::function<std::optional<Result<http::Response>>(const Call&)> before;
  // Called after a request was served (the server's state changed); an answer
  // returned here replaces the real one (e.g. a lost answer).
  std::function<std::optional<Result<http::Response>>(const Call&, const http::Response&)> after;

  std::map<std::string, Object> objects;
  std::map<std::string, Upload> uploads;
  std::vector<Call> log;  // method + key + query of every request (request pointer not kept valid)
  std::size_t largest_sink_delivery = 0;  // most body bytes written to one request's sink

  Result<http::Response> send(const http::Request& request, ByteSink* sink) override {
    std::unique_lock lock(mu_);
    Call call = parse(request);
    log.push_back(Call{call.method, call.key, call.query, nullptr});
    if (before) {
      if (auto r = before(call)) return *r;
    }
    http::Response response = serve(call, request);
    response.headers.push_back({"Date", http_date(now)});
    if (after) {
      if (auto r = after(call, response)) return *r;
    }
    if (sink != nullptr && response.success() && !response.body.empty()) {
      std::string body = std::move(response.body);
      response.body.clear();
      lock.unlock();
      std::size_t delivered = 0;
      for (std::size_t off = 0; off < body.size(); off += chunk) {
        std::size_t n = std::min(chunk, body.size() - off);
        auto st = sink->write(std::as_bytes(std::span(body.data() + off, n)));
        if (!st) {
          note_delivery(delivered);
          return st.error();
        }
        delivered += n;
      }
      note_delivery(delivered);
    }
    return response;
  }

  // Thread-safe access while writers' threads are still talking to it.
  void on_before(std::function<std::optional<Result<http::Response>>(const Call&)> f) {
    std::lock_guard lock(mu_);
    before = std::move(f);
  }
  void on_after(std::function<std::optional<Result<http::Response>>(const Call&, const http::Response&)> f) {
    std::lock_guard lock(mu_);
    after = std::move(f);
  }
  void advance(std::chrono::seconds d) {
    std::lock_guard lock(mu_);
    now += d;
  }
  std::chrono::system_clock::time_point current() {
    std::lock_guard lock(mu_);
    return now;
  }
  std::size_t upload_count() {
    std::lock_guard lock(mu_);
    return uploads.size();
  }

  std::size_t count(const std::string& method, const std::string& query_key = "") {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& c : log) {
      if (c.method == method && (query_key.empty() || c.query.count(query_key) != 0)) ++n;
    }
    return n;
  }

  static std::string http_date(std::chrono::system_clock::time_point t) {
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    return std::string(buf, std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm));
  }
  static std::string iso_date(std::chrono::system_clock::time_point t) {
    auto s = utc_rfc3339(t);
    return s.substr(0, 19) + ".000Z";
  }

 private:
  static std::string decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size()) {
        out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(s[i]);
      }
    }
    return out;
  }

  Call parse(const http::Request& r) {
    Call c;
    c.method = r.method;
    c.request = &r;
    std::string url = r.url;
    auto scheme = url.find("://");
    auto path_start = url.find('/', scheme + 3);
    std::string path = url.substr(path_start);
    std::string query;
    if (auto q = path.find('?'); q != std::string::npos) {
      query = path.substr(q + 1);
      path = path.substr(0, q);
    }
    std::string prefix = "/" + bucket + "/";
    c.key = decode(path.size() > prefix.size() ? path.substr(prefix.size()) : "");
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string pair = query.substr(0, amp);
      query = amp == std::string::npos ? "" : query.substr(amp + 1);
      auto eq = pair.find('=');
      c.query[decode(pair.substr(0, eq))] = eq == std::string::npos ? "" : decode(pair.substr(eq + 1));
    }
    return c;
  }

  static std::optional<std::string> header(const http::Request& r, std::string_view name) {
    for (const auto& h : r.headers) {
      if (h.name.size() != name.size()) continue;
      bool same = true;
      for (std::size_t i = 0; i < name.size() && same; ++i) {
        same = std::tolower(static_cast<unsigned char>(h.name[i])) == std::tolower(static_cast<unsigned char>(name[i]));
      }
      if (same) return h.value;
    }
    return std::nullopt;
  }

  static std::vector<http::Header> meta_of(const http::Request& r) {
    std::vector<http::Header> out;
    for (const auto& h : r.headers) {
      std::string n = h.name;
      for (auto& ch : n) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (n.rfind("x-amz-meta-", 0) == 0) out.push_back({n, h.value});
    }
    return out;
  }

  static std::string body_of(const http::Request& r) {
    if (r.body_stream == nullptr) return r.body;
    std::string out;
    std::vector<std::byte> buf(65536);
    for (;;) {
      auto n = r.body_stream->read(buf);
      if (!n || *n == 0) return out;
      out.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
  }

  static http::Response error(int status, const std::string& code) {
    return http::Response{status, {}, "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>" + code +
                                          "</Message></Error>"};
  }

  std::string etag_of(const std::string& data) { return "\"" + sha256_hex(data).substr(0, 32) + "\""; }

  http::Response serve(const Call& c, const http::Request& r) {
    const bool has_upload = c.query.count("uploadId") != 0;
    if (c.method == "HEAD" && c.key.empty()) return http::Response{200, {}, ""};
    if (c.method == "GET" && c.key.empty() && c.query.count("uploads")) return list_uploads(c);
    if (c.method == "GET" && c.key.empty()) return list_objects(c);
    if (c.method == "POST" && c.query.count("uploads")) {
      std::string id = "up-" + random_hex(6);
      uploads[id] = Upload{c.key, now, {}, meta_of(r)};
      return http::Response{200, {}, "<InitiateMultipartUploadResult><Bucket>" + bucket + "</Bucket><Key>" + c.key +
                                         "</Key><UploadId>" + id + "</UploadId></InitiateMultipartUploadResult>"};
    }
    if (c.method == "PUT" && has_upload) {
      auto u = uploads.find(c.query.at("uploadId"));
      if (u == uploads.end()) return error(404, "NoSuchUpload");
      std::string data = body_of(r);
      std::string etag = etag_of(data);
      u->second.parts[std::stoi(c.query.at("partNumber"))] = std::move(data);
      return http::Response{200, {{"ETag", etag}}, ""};
    }
    if (c.method == "POST" && has_upload) {
      auto u = uploads.find(c.query.at("uploadId"));
      if (u == uploads.end()) return error(404, "NoSuchUpload");
      std::string data;
      for (auto& [n, part] : u->second.parts) data += part;
      Object o{data, "\"" + sha256_hex(data).substr(0, 32) + "-" + std::to_string(u->second.parts.size()) + "\"", now,
               u->second.meta};
      objects[u->second.key] = o;
      uploads.erase(u);
      return http::Response{200, {}, "<CompleteMultipartUploadResult><Key>" + c.key + "</Key><ETag>" + o.etag +
                                         "</ETag></CompleteMultipartUploadResult>"};
    }
    if (c.method == "DELETE" && has_upload) {
      if (uploads.erase(c.query.at("uploadId")) == 0) return error(404, "NoSuchUpload");
      return http::Response{204, {}, ""};
    }
    auto it = objects.find(c.key);
    if (c.method == "PUT") {
      if (honour_if_none_match && header(r, "if-none-match") == "*" && it != objects.end()) {
        return error(412, "PreconditionFailed");
      }
      if (auto m = header(r, "if-match")) {
        if (it == objects.end()) return error(404, "NoSuchKey");
        if (*m != it->second.etag) return error(412, "PreconditionFailed");
      }
      std::string data = body_of(r);
      Object o{data, etag_of(data), now, meta_of(r)};
      objects[c.key] = o;
      return http::Response{200, {{"ETag", o.etag}}, ""};
    }
    if (c.method == "DELETE") {
      if (auto m = header(r, "if-match"); m && honour_delete_if_match) {
        if (it == objects.end()) return error(404, "NoSuchKey");
        if (*m != it->second.etag) return error(412, "PreconditionFailed");
      }
      if (it != objects.end()) objects.erase(it);
      return http::Response{204, {}, ""};
    }
    if (it == objects.end()) return c.method == "HEAD" ? http::Response{404, {}, ""} : error(404, "NoSuchKey");
    const Object& o = it->second;
    if (auto m = header(r, "if-match"); m && *m != o.etag) return error(412, "PreconditionFailed");
    std::vector<http::Header> headers = {{"ETag", o.etag}, {"Last-Modified", http_date(o.modified)}};
    for (const auto& h : o.meta) headers.push_back(h);
    if (c.method == "HEAD") {
      headers.push_back({"Content-Length", std::to_string(o.data.size())});
      return http::Response{200, headers, ""};
    }
    auto range = header(r, "range");
    if (!range || ignore_range) return http::Response{200, headers, o.data};
    std::size_t first = 0, last = 0;
    std::sscanf(range->c_str(), "bytes=%zu-%zu", &first, &last);
    if (first >= o.data.size()) return error(416, "InvalidRange");
    last = std::min(last, o.data.size() - 1);
    headers.push_back({"Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                                            std::to_string(o.data.size())});
    return http::Response{206, headers, o.data.substr(first, last - first + 1)};
  }

  http::Response list_objects(const Call& c) {
    std::string prefix = c.query.count("prefix") ? c.query.at("prefix") : "";
    std::string body = "<ListBucketResult><Name>" + bucket + "</Name>";
    for (const auto& [key, o] : objects) {
      if (key.rfind(prefix, 0) != 0) continue;
      body += "<Contents><Key>" + key + "</Key><LastModified>" + iso_date(o.modified) + "</LastModified><ETag>" +
              o.etag + "</ETag><Size>" + std::to_string(o.data.size()) + "</Size></Contents>";
    }
    return http::Response{200, {}, body + "<IsTruncated>false</IsTruncated></ListBucketResult>"};
  }

  http::Response list_uploads(const Call& c) {
    std::string prefix = c.query.count("prefix") ? c.query.at("prefix") : "";
    std::string body = "<ListMultipartUploadsResult><Bucket>" + bucket + "</Bucket>";
    for (const auto& [id, u] : uploads) {
      if (u.key.rfind(prefix, 0) != 0) continue;
      body += "<Upload><Key>" + u.key + "</Key><UploadId>" + id + "</UploadId><Initiated>" + iso_date(u.initiated) +
              "</Initiated></Upload>";
    }
    return http::Response{200, {}, body + "<IsTruncated>false</IsTruncated></ListMultipartUploadsResult>"};
  }

  void note_delivery(std::size_t n) {
    std::lock_guard lock(mu_);
    largest_sink_delivery = std::max(largest_sink_delivery, n);
  }

  std::mutex mu_;
};

}  // namespace wscp::store::testing
