#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "http/client.h"

namespace wscp::agent::testing {

// An http::Client answered by a function of the request; every request is
// recorded.
class FakeHttp final : public http::Client {
 public:
  using Responder = std::function<Result<http::Response>(const http::Request&)>;
  explicit FakeHttp(Responder responder) : responder_(std::move(responder)) {}

  Result<http::Response> send(const http::Request& request, ByteSink*) override {
    {
      std::lock_guard lock(mu_);
      sent_.push_back(request);
    }
    return responder_(request);
  }

  std::vector<http::Request> sent() const {
    std::lock_guard lock(mu_);
    return sent_;
  }

  static http::Response answer(int status, std::string body, std::vector<http::Header> headers = {}) {
    return http::Response{status, std::move(headers), std::move(body)};
  }

  static std::string header(const http::Request& r, std::string_view name) {
    for (const auto& h : r.headers) {
      if (h.name == name) return h.value;
    }
    return "<none>";
  }

 private:
  Responder responder_;
  mutable std::mutex mu_;
  std::vector<http::Request> sent_;
};

}  // namespace wscp::agent::testing
