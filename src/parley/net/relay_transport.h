// The client's UDP transport to the relay (plain framing of issue #4): wraps opaque
// sealed packets in bind/data packets and unwraps what the relay forwards.
// docs/protocol.md, "Relay (plain UDP framing)", "Client behaviour".
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "parley/base/result.h"
#include "parley/base/time.h"
#include "parley/net/relay_packet.h"

namespace parley::net {

struct RelayTransportOptions {
  // After the first packet from the relay, a bind (instead of a data packet) at least
  // this often, so a NAT rebinding or an idle expiry at the relay heals. The protocol
  // says at most 15 s; tests shorten it.
  Duration rebind_interval = seconds(15);
  // Before anything has arrived, how often Keepalive() sends an empty bind when the
  // caller has nothing to send (every Send is then a bind anyway).
  Duration unheard_bind_interval = seconds(1);
};

// Counters since Open. Readable from any thread (relaxed: counters, not sync).
struct RelayTransportStats {
  uint64_t binds_sent = 0;        // bind packets tried, with or without a sealed payload
  uint64_t data_sent = 0;         // data packets tried (failures also count in send_failures)
  uint64_t bytes_sent = 0;        // UDP payload bytes of both kinds
  uint64_t send_failures = 0;     // datagrams the socket refused (buffer full, ICMP error)
  uint64_t received = 0;          // datagrams from the relay handed to the caller
  uint64_t bytes_received = 0;
  uint64_t dropped_received = 0;  // from the relay but not a possible sealed packet (size)
};

// One call participant's socket to the relay. Open resolves the relay host (a DNS
// lookup on the caller's thread if it is a name), opens a non-blocking UDP socket of
// the resolved family and connect()s it to the relay, so the kernel delivers datagrams
// from the relay's address only and everything else never reaches Receive().
//
// Wire behaviour: every Send is a bind (0x01 || ticket length || ticket || sealed) until
// something has arrived from the relay (it forwards only to bound participants, so a
// packet from it proves we are bound), then data packets (0x02 || token || sealed) with
// a bind in place of a data packet whenever the last bind is rebind_interval old.
// Binds carry the sealed payload, so no packet is wasted on binding. Open itself sends
// one empty bind, so the relay knows us before our first media packet.
//
// Threads: not thread-safe. One thread at a time (the call's media thread) calls
// Send, Receive and Keepalive; stats() and fd() may be read from any thread. `now` is
// the caller's steady time (tests pass simulated time; it must not go backwards).
// The socket closes with the object.
class RelayTransport {
 public:
  // `host` is a numeric IPv4/IPv6 address or a DNS name (as the server's relay offer
  // gives it), `port` the relay's UDP port, `ticket` the relay ticket from signaling
  // (1..255 bytes, opaque). Errors are one sentence (bad ticket, name does not
  // resolve, no socket).
  static Result<std::unique_ptr<RelayTransport>> Open(const std::string& host, uint16_t port,
                                                      std::span<const uint8_t> ticket, TimePoint now,
                                                      RelayTransportOptions options = {});
  ~RelayTransport();
  RelayTransport(const RelayTransport&) = delete;
  RelayTransport& operator=(const RelayTransport&) = delete;

  // Sends one sealed packet (25..1200 bytes; docs/protocol.md "Sealed packet") framed
  // as a bind or a data packet (see above). Never blocks: when the socket buffer is
  // full the packet is dropped and an error returned (loss is the call's business; the
  // caller may ignore it). A wrong size is an error and sends nothing.
  Status Send(std::span<const uint8_t> sealed, TimePoint now);

  // Sends an empty bind if one is due (see next_keepalive_at), for callers with no
  // media to send yet (before accept, on hold). Cheap to call often.
  Status Keepalive(TimePoint now);
  // When Keepalive will next send something: the last bind plus unheard_bind_interval
  // before anything arrived, plus rebind_interval after.
  TimePoint next_keepalive_at() const;

  // The next sealed packet the relay forwarded, or nullopt if none is waiting. Never
  // blocks. The bytes are unverified: open them with a PacketOpener.
  std::optional<std::vector<uint8_t>> Receive();
  // As Receive(), but waits up to `wait` (poll) for one to arrive.
  std::optional<std::vector<uint8_t>> Receive(Duration wait);

  // Readable (POLLIN) when Receive() has something; for poll-based event loops.
  int fd() const { return fd_; }
  // True once anything has arrived from the relay (data packets are used from then on).
  bool heard_from_relay() const { return heard_; }
  // "1.2.3.4:3478" or "[2001:db8::1]:3478": the address the name resolved to.
  const std::string& relay_address() const { return relay_address_; }
  RelayTransportStats stats() const;

 private:
  RelayTransport(int fd, std::vector<uint8_t> ticket, std::string relay_address, RelayTransportOptions options);
  // Sends one datagram; a pending ICMP error from an earlier datagram is consumed and
  // the send retried once.
  Status SendDatagram(const std::vector<uint8_t>& datagram);
  Status SendBind(std::span<const uint8_t> sealed, TimePoint now);

  int fd_ = -1;
  const std::vector<uint8_t> ticket_;
  const RelaySessionToken token_;
  const std::string relay_address_;
  const RelayTransportOptions options_;
  bool heard_ = false;
  TimePoint last_bind_at_{};
  std::vector<uint8_t> receive_buffer_;

  // Written by the owning thread, read by stats() from any thread.
  std::atomic<uint64_t> binds_sent_{0}, data_sent_{0}, bytes_sent_{0}, send_failures_{0}, received_{0},
      bytes_received_{0}, dropped_received_{0};
};

}  // namespace parley::net
