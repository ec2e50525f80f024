// keep_connections against a keep-alive HTTP/1.1 server in this process
// that counts the connections it accepted.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "http/client.h"

using namespace wscp;

namespace {

// Answers every request with the size of its body and the sum of its bytes
// ("size/sum"); with `drop_second`, the
// second request on each connection is read and the connection closed
// without an answer (as a server whose keep-alive ran out does).
class KeepAliveServer {
 public:
  explicit KeepAliveServer(bool drop_second = false) : drop_second_(drop_second) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~KeepAliveServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    for (auto& t : connections_) t.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/size"; }
  int accepted() const { return accepted_.load(); }

 private:
  void accept_loop() {
    for (;;) {
      int conn = ::accept(fd_, nullptr, nullptr);
      if (conn < 0) return;
      ++accepted_;
      connections_.emplace_back([this, conn] { serve(conn); });
    }
  }
  void serve(int conn) {
    std::string in;
    char buf[4096];
    for (int served = 0;; ++served) {
      std::size_t end;
      while ((end = in.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = ::recv(conn, buf, sizeof buf, 0);
        if (n <= 0) return close_quietly(conn);
        in.append(buf, static_cast<std::size_t>(n));
      }
      std::size_t length = 0;
      if (auto at = in.find("Content-Length: "); at != std::string::npos && at < end)
        length = std::stoul(in.substr(at + 16));
      while (in.size() < end + 4 + length) {
        ssize_t n = ::recv(conn, buf, sizeof buf, 0);
        if (n <= 0) return close_quietly(conn);
        in.append(buf, static_cast<std::size_t>(n));
      }
      unsigned long long sum = 0;
      for (std::size_t i = end + 4; i < end + 4 + length; ++i) sum += static_cast<unsigned char>(in[i]) * (i - end - 3);
      in.erase(0, end + 4 + length);
      if (drop_second_ && served == 1) return close_quietly(conn);
      const std::string body = std::to_string(length) + "/" + std::to_string(sum);
      const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      if (::send(conn, answer.data(), answer.size(), MSG_NOSIGNAL) < 0) return close_quietly(conn);
    }
  }
  static void close_quietly(int conn) { ::close(conn); }

  bool drop_second_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
  std::vector<std::thread> connections_;  // joined at the end (the accept thread alone adds)
};

// What the server answers for `body`: its size and its bytes summed, each
// weighted by its position (a body sent from the wrong offset sums otherwise).
std::string digest(const std::string& body) {
  unsigned long long sum = 0;
  for (std::size_t i = 0; i < body.size(); ++i) sum += static_cast<unsigned char>(body[i]) * (i + 1);
  return std::to_string(body.size()) + "/" + std::to_string(sum);
}

// Bytes that differ along the body.
std::string varied(std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>('a' + i % 23);
  return out;
}

http::Request post(const std::string& url, std::string body) {
  http::Request r;
  r.method = "POST";
  r.url = url;
  r.body = std::move(body);
  r.timeout = std::chrono::milliseconds(10'000);
  return r;
}

}  // namespace

TEST_CASE("keep_connections: requests one after another share one connection") {
  KeepAliveServer server;
  http::ClientConfig config;
  config.keep_connections = true;
  auto client = http::make_curl_client(config);
  for (int i = 0; i < 3; ++i) {
    auto r = client->send(post(server.url(), varied(100 + i)), nullptr);
    REQUIRE_MESSAGE(r.ok(), r.error().describe());
    CHECK(r->body == digest(varied(100 + i)));
  }
  CHECK(server.accepted() == 1);
}

TEST_CASE("without keep_connections every request has a connection of its own") {
  KeepAliveServer server;
  auto client = http::make_curl_client(http::ClientConfig{});
  for (int i = 0; i < 3; ++i) REQUIRE(client->send(post(server.url(), "abc"), nullptr).ok());
  CHECK(server.accepted() == 3);
}

TEST_CASE("keep_connections: a kept connection closed under a request sends its body again on a new one") {
  KeepAliveServer server(/*drop_second=*/true);
  http::ClientConfig config;
  config.keep_connections = true;
  auto client = http::make_curl_client(config);
  REQUIRE(client->send(post(server.url(), "first"), nullptr).ok());
  const std::string body = varied(1 << 20);
  auto again = client->send(post(server.url(), body), nullptr);
  REQUIRE_MESSAGE(again.ok(), again.error().describe());
  CHECK(again->body == digest(body));  // the whole body, from its start
  CHECK(server.accepted() == 2);
}
