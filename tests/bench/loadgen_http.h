// The load generator's connection: a TLS stream on Asio with one deadline per operation and a
// minimal HTTP/1.1 client (Content-Length bodies, keep-alive), enough for the SOC's agent port.
// Only tests/bench/cg_loadgen.cpp includes it.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace cg::bench::loadgen {

struct Answer {
  bool ok = false;  // an answer came; false: the connection broke or timed out
  int status = 0;
  int64_t retry_after = -1;  // seconds; -1 when absent
  bool close = false;        // Connection: close
  std::string body;
};

struct Stream {
  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> tls;
  boost::asio::steady_timer timer;
  std::string buffer;  // bytes read past the previous answer

  Stream(boost::asio::io_context& io, boost::asio::ssl::context& ctx) : tls(io, ctx), timer(io) {}

  // Awaits `op`; when `limit` passes first, the socket is closed, which ends `op` with an error.
  template <typename T>
  boost::asio::awaitable<T> Run(boost::asio::awaitable<T> op, std::chrono::seconds limit) {
    Arm(limit);
    T result = co_await std::move(op);
    Disarm();
    co_return result;
  }

  boost::asio::awaitable<Answer> Exchange(std::string_view method, const std::string& target,
                                          const std::string& body, std::chrono::seconds limit) {
    namespace asio = boost::asio;
    constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
    std::string request;
    request.reserve(160 + body.size());
    request.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: localhost\r\n");
    if (method == "POST") {
      request.append("Content-Type: application/json\r\nContent-Length: ")
          .append(std::to_string(body.size()))
          .append("\r\n");
    }
    request.append("\r\n").append(body);
    Answer answer;
    Arm(limit);
    auto [wec, written] = co_await asio::async_write(tls, asio::buffer(request), kTuple);
    if (wec) {
      Disarm();
      co_return answer;
    }
    auto [rec, head_size] =
        co_await asio::async_read_until(tls, asio::dynamic_buffer(buffer), "\r\n\r\n", kTuple);
    if (rec) {
      Disarm();
      co_return answer;
    }
    const std::string head = buffer.substr(0, head_size);
    buffer.erase(0, head_size);
    size_t length = 0;
    if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) {
      Disarm();
      co_return answer;
    }
    answer.status = std::atoi(head.c_str() + 9);
    size_t at = head.find("\r\n");
    while (at != std::string::npos && at + 2 < head.size()) {
      const size_t end = head.find("\r\n", at + 2);
      std::string line = head.substr(at + 2, end - at - 2);
      at = end;
      const size_t colon = line.find(':');
      if (colon == std::string::npos) {
        continue;
      }
      std::string name = line.substr(0, colon);
      for (char& c : name) {
        c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      }
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      if (name == "content-length") {
        length = static_cast<size_t>(std::strtoull(value.c_str(), nullptr, 10));
      } else if (name == "retry-after") {
        answer.retry_after = std::strtoll(value.c_str(), nullptr, 10);
      } else if (name == "connection") {
        answer.close = value.find("close") != std::string::npos;
      }
    }
    if (buffer.size() < length) {
      auto [bec, got] =
          co_await asio::async_read(tls, asio::dynamic_buffer(buffer),
                                    asio::transfer_exactly(length - buffer.size()), kTuple);
      if (bec) {
        Disarm();
        co_return answer;
      }
    }
    Disarm();
    answer.body = buffer.substr(0, length);
    buffer.erase(0, length);
    answer.ok = true;
    co_return answer;
  }

 private:
  // A deadline that fired just as its operation ended may still run after cancel(): it acts
  // only while the stream lives and the same deadline is armed.
  void Arm(std::chrono::seconds limit) {
    timer.expires_after(limit);
    timer.async_wait(
        [this, alive = std::weak_ptr<int>(alive_), arm = ++arms_](boost::system::error_code ec) {
          if (!ec && !alive.expired() && arm == arms_) {
            boost::system::error_code ignored;
            tls.next_layer().close(ignored);
          }
        });
  }
  void Disarm() {
    timer.cancel();
    ++arms_;
  }
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  uint64_t arms_ = 0;
};

}  // namespace cg::bench::loadgen
