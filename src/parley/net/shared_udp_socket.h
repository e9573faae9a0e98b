// One unconnected UDP socket shared by the relay path and the direct P2P path, so the
// server-reflexive address the relay reports is the one the peer can punch towards.
// Datagrams are sorted by source: from the relay to the relay path, all others to the
// second consumer (P2P), each through a bounded queue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "parley/base/result.h"
#include "parley/net/udp_endpoint.h"

namespace parley::net {

struct UdpDatagram {
  UdpEndpoint from;
  std::vector<uint8_t> bytes;
};

// Lifetime: held by shared_ptr by every path that uses it; the socket closes with the
// last holder. Threads: every method may be called from any thread (a mutex guards the
// queues and addresses); normally both consumers run on the call's media thread.
class SharedUdpSocket {
 public:
  // At most this many datagrams wait for each consumer; beyond it the oldest is dropped.
  static constexpr std::size_t kQueueLimit = 64;

  // A non-blocking UDP socket of `family` (AF_INET or AF_INET6) bound to the wildcard
  // address and `local_port` (0: an ephemeral port). Errors are one sentence.
  static Result<std::shared_ptr<SharedUdpSocket>> Open(int family, uint16_t local_port = 0);
  ~SharedUdpSocket();
  SharedUdpSocket(const SharedUdpSocket&) = delete;
  SharedUdpSocket& operator=(const SharedUdpSocket&) = delete;

  // After a network change: a new socket of the same family on a new ephemeral port
  // takes this one's place under the same descriptor number (dup2), so pollers keep
  // working; queued datagrams and the reflexive address are dropped (they belong to
  // the old port). Sends racing with it go out on one socket or the other. Errors are
  // one sentence; the old socket stays on error.
  Status Reopen();

  // Datagrams from exactly this address and port go to ReceiveFromRelay.
  void SetRelayEndpoint(const UdpEndpoint& relay);
  UdpEndpoint relay_endpoint() const;

  // Sends one datagram; never blocks. Errors are one sentence (buffer full, no route).
  Status SendTo(const UdpEndpoint& to, std::span<const uint8_t> datagram);

  // The next datagram from the relay endpoint, or nullopt; never blocks. Datagrams from
  // other sources read on the way are queued for ReceiveFromOthers.
  std::optional<std::vector<uint8_t>> ReceiveFromRelay();
  // The next datagram from any other source, with its source; never blocks. Datagrams
  // from the relay read on the way are queued for ReceiveFromRelay.
  std::optional<UdpDatagram> ReceiveFromOthers();

  // Readable (POLLIN) when either consumer may have something to read (queued
  // datagrams do not make it readable: drain both after a wake-up).
  int fd() const { return fd_; }
  int family() const { return family_; }
  // The bound local address (wildcard IP) and port.
  UdpEndpoint local_endpoint() const;

  // The address the relay saw us at (from its latest ack), for P2P candidates; set by
  // the relay path.
  void SetReflexiveEndpoint(const UdpEndpoint& reflexive);
  std::optional<UdpEndpoint> reflexive_endpoint() const;

  uint64_t dropped_queued() const;  // datagrams dropped because a queue was full

 private:
  SharedUdpSocket(int fd, int family) : fd_(fd), family_(family) {}
  // Reads one datagram from the socket into the right queue; false when none waits.
  bool ReadOneLocked();

  const int fd_;
  const int family_;
  // Reads of the socket happen under mutex_; Reopen swaps the socket under it too.
  mutable std::mutex mutex_;  // guards everything below
  UdpEndpoint relay_;
  std::optional<UdpEndpoint> reflexive_;
  std::deque<std::vector<uint8_t>> from_relay_;
  std::deque<UdpDatagram> from_others_;
  std::vector<uint8_t> buffer_;
  uint64_t dropped_queued_ = 0;
};

}  // namespace parley::net
