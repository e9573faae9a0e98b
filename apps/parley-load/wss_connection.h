// One TLS WebSocket client connection of the load generator. Boost.Beast stays in the .cc
// (it is slow to compile); this header names only Asio's io_context.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

namespace parley::load {

struct WssTarget {
  std::string address;      // an IPv4 or IPv6 address to connect to
  uint16_t port = 0;
  std::string path;         // parleyd's signaling.websocket_path
  std::string server_name;  // SNI and Host
};

struct WssCallbacks {
  std::function<void()> on_open;                     // TLS and WebSocket handshakes done
  std::function<void(std::string text)> on_message;  // one text frame
  std::function<void(std::string why)> on_closed;    // once; after it, nothing more is called
};

// Lives in a shared_ptr that its pending handlers hold. Created, used and destroyed on
// the io_context's one thread. The certificate is not checked: the load generator runs
// against the operator's own test server (self-signed on loopback).
class WssConnection {
 public:
  virtual ~WssConnection() = default;
  // Connects from `local_address` (empty: any) and starts reading.
  static std::shared_ptr<WssConnection> Open(boost::asio::io_context& io, const WssTarget& target,
                                             const std::string& local_address, WssCallbacks callbacks);
  // Queues one text frame; one write is in flight at a time. Ignored once closed.
  virtual void Send(std::string text) = 0;
  virtual void Close() = 0;
};

}  // namespace parley::load
