// One way for a call's sealed packets to reach the peer (relay over obfuscated UDP,
// relay over TLS, direct P2P UDP), as the path manager and the call see it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/result.h"
#include "parley/base/time.h"

namespace parley::net {

enum class PathKind : uint8_t { kRelayUdp, kRelayTls, kDirectUdp };

// "relay-udp", "relay-tls", "p2p": the words the status line, --stats and
// `parley doctor` print.
constexpr std::string_view PathKindName(PathKind kind) {
  switch (kind) {
    case PathKind::kRelayUdp: return "relay-udp";
    case PathKind::kRelayTls: return "relay-tls";
    case PathKind::kDirectUdp: return "p2p";
  }
  return "?";
}

// Counters since the path was opened. Readable from any thread (implementations keep
// them in relaxed atomics: counters, not synchronisation).
struct PacketPathStats {
  uint64_t packets_sent = 0;      // sealed packets handed to the carrier
  uint64_t bytes_sent = 0;        // bytes on the carrier, framing included
  uint64_t send_failures = 0;     // refused by the carrier (buffer full, not connected)
  uint64_t packets_received = 0;  // sealed packets handed up by Receive
  uint64_t bytes_received = 0;
  uint64_t dropped_received = 0;  // arrived but not a possible sealed packet
};

// Carries opaque sealed packets (docs/protocol.md, "Sealed packet") to the peer and
// back. What a path adds on the wire (relay binds, TLS and WebSocket framing) is its
// own business; what goes in and comes out is always a whole sealed packet, unverified
// on the way in.
//
// Threads: Send, Receive and Tick from one thread at a time (the call's media thread);
// stats(), ready(), kind() and description() from any thread. `now` is that thread's
// steady time, never going backwards; tests pass simulated time.
class PacketPath {
 public:
  virtual ~PacketPath() = default;

  // Sends one sealed packet (25..1200 bytes). Never blocks: when the carrier cannot
  // take it now the packet is dropped and an error returned (loss is the call's
  // business; callers may ignore it).
  virtual Status Send(std::span<const uint8_t> sealed, TimePoint now) = 0;

  // The next sealed packet that arrived on this path, or nullopt. Never blocks.
  virtual std::optional<std::vector<uint8_t>> Receive(TimePoint now) = 0;

  // Timers: keepalives, rebinds, reconnects. Cheap to call every 10 ms.
  virtual void Tick(TimePoint now) = 0;

  // Readable (POLLIN) when Receive may have something, for poll loops; -1 if the path
  // has no descriptor of its own (it is then polled by calling Receive).
  virtual int fd() const = 0;

  // True once the carrier is known to work end to the relay or peer (relay bind
  // acknowledged, TLS upgraded, P2P probe answered): the path manager races paths
  // and starts on the first that is ready.
  virtual bool ready() const = 0;

  // False once the carrier is known to be dead for good (TLS closed, socket error);
  // a path that only went quiet stays open and may recover.
  virtual bool open() const = 0;

  virtual PathKind kind() const = 0;
  // Human words for the status line and doctor: "relay-udp 203.0.113.5:8443".
  virtual std::string description() const = 0;
  virtual PacketPathStats stats() const = 0;
};

}  // namespace parley::net
