// What the web front hands WebSocket signaling to: text messages in, text messages out.
// SignalingHub is bound to it by HubSignalingSink; tests use their own sinks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/time.h"
#include "parley/server/node_bus.h"

namespace parley::server {

// Unique per WebSocket connection for the life of the process; never reused. (Same
// type as SignalingHub's ConnectionId.)
using ConnectionId = uint64_t;

// Now on both clocks: `steady` for timeouts, `unix_ms` for what is stored or shown.
struct SinkTime {
  TimePoint steady;
  int64_t unix_ms = 0;
};

// A text message for one connection; close_after closes that connection (normal
// closure, code 1000) once the message has been written. logged_in: this message
// completes the connection's login (or registration), which lifts the web front's
// login deadline (WebFrontOptions::login_timeout) for it.
struct SignalingSend {
  ConnectionId connection = 0;
  std::string text;
  bool close_after = false;
  bool logged_in = false;
};

// Called by the web front from one strand only (never concurrently, in the order
// events happened on each connection): OnConnect once per connection before any
// OnMessage, OnDisconnect once after the last. Sends to connections that are gone are
// dropped. The front calls OnTimer at (or soon after) NextTimerAt(), which it asks
// again after every call.
class SignalingSink {
 public:
  virtual ~SignalingSink() = default;
  virtual std::vector<SignalingSend> OnConnect(ConnectionId id, const std::string& remote_ip, SinkTime now) = 0;
  virtual std::vector<SignalingSend> OnMessage(ConnectionId id, std::string_view text, SinkTime now) = 0;
  virtual std::vector<SignalingSend> OnDisconnect(ConnectionId id, SinkTime now) = 0;
  virtual std::vector<SignalingSend> OnTimer(SinkTime now) = 0;
  // An envelope from another parleyd node, which the front was handed by
  // WebFront::PostToHub (a sink without several nodes ignores it).
  virtual std::vector<SignalingSend> OnEnvelope(const NodeEnvelope&, SinkTime) { return {}; }
  virtual std::optional<TimePoint> NextTimerAt() const = 0;
};

}  // namespace parley::server
