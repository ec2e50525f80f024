#pragma once

#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "http/client.h"

namespace wscp::controller::testing {

// An http::Client answered by a function of the request, recording every
// request. Like the libcurl client, a 2xx body goes into the caller's sink
// when one is given (and the sink's refusal ends the call with its error).
class FakeAgentHttp final : public http::Client {
 public:
  using Responder = std::function<Result<http::Response>(const http::Request&)>;
  explicit FakeAgentHttp(Responder responder) : responder_(std::move(responder)) {}

  Result<http::Response> send(const http::Request& request, ByteSink* sink) override {
    {
      std::lock_guard lock(mu_);
      sent_.push_back(request);
    }
    auto r = responder_(request);
    if (!r || !sink || !r->success()) return r;
    std::string body = std::move(r->body);
    r->body.clear();
    // In pieces, as a transfer arrives.
    for (std::size_t at = 0; at < body.size(); at += 16 * 1024) {
      auto piece = std::string_view(body).substr(at, 16 * 1024);
      if (auto s = sink->write(std::as_bytes(std::span(piece.data(), piece.size()))); !s) return s.error();
    }
    return r;
  }

  std::vector<http::Request> sent() const {
    std::lock_guard lock(mu_);
    return sent_;
  }

  static http::Response answer(int status, std::string body) {
    return http::Response{status, {{"Content-Type", "application/json"}}, std::move(body)};
  }

 private:
  Responder responder_;
  mutable std::mutex mu_;
  std::vector<http::Request> sent_;
};

}  // namespace wscp::controller::testing
