#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "http/client.h"

namespace wscp::kube::testing {

// An http::Client that answers from a script and records what was sent. A
// 2xx answer with a sink streams `chunks` (or the body) into it, as curl
// would, chunk by chunk.
class FakeHttp final : public http::Client {
 public:
  struct Answer {
    Result<http::Response> response = http::Response{200, {}, "{}"};
    std::vector<std::string> chunks;  // streamed to the sink in these pieces
  };

  void answer(int status, std::string body) { answers_.push_back({http::Response{status, {}, std::move(body)}, {}}); }
  void answer_stream(std::vector<std::string> chunks) {
    answers_.push_back({http::Response{200, {}, ""}, std::move(chunks)});
  }
  void fail(Error e) { answers_.push_back({std::move(e), {}}); }

  Result<http::Response> send(const http::Request& request, ByteSink* sink) override {
    std::lock_guard lock(mu_);
    sent.push_back(request);
    if (answers_.empty()) return Error(ErrorCode::kInternal, "FakeHttp: no answer scripted for " + request.url);
    Answer a = std::move(answers_.front());
    answers_.pop_front();
    if (!a.response.ok()) return a.response;
    http::Response r = a.response.value();
    if (sink && r.success()) {
      std::vector<std::string> pieces = a.chunks.empty() ? std::vector<std::string>{r.body} : a.chunks;
      r.body.clear();
      for (const auto& piece : pieces) {
        Status s = sink->write(std::as_bytes(std::span(piece.data(), piece.size())));
        if (!s) return s.error();  // curl aborts the transfer and returns the sink's error
      }
    }
    return r;
  }

  std::vector<http::Request> sent;

  std::string header(std::size_t i, std::string_view name) const {
    for (const auto& h : sent.at(i).headers) {
      if (h.name == name) return h.value;
    }
    return "<none>";
  }

 private:
  std::mutex mu_;
  std::deque<Answer> answers_;
};

}  // namespace wscp::kube::testing
