// The relay over obfuscated UDP as a PacketPath (kind kRelayUdp): RelayClientSession's
// datagrams on a SharedUdpSocket (which the P2P path may share).
// docs/protocol.md, "Relay (obfuscated UDP)", "Client behaviour".
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
#include "parley/net/packet_path.h"
#include "parley/net/relay_client_session.h"
#include "parley/net/shared_udp_socket.h"
#include "parley/net/udp_endpoint.h"

namespace parley::net {

// Resolves `host` (a numeric address or a DNS name, looked up on the caller's thread)
// to the UDP endpoint of `port`. Errors are one sentence.
Result<UdpEndpoint> ResolveUdpEndpoint(const std::string& host, uint16_t port);

// Threads: PacketPath's (Send/Receive/Tick on the media thread; stats, ready, open,
// kind, description from any). The socket is shared: its relay-sourced datagrams are
// this path's, the rest wait for the P2P path.
class RelayUdpPath final : public PacketPath {
 public:
  // Resolves the relay, opens a SharedUdpSocket of its family and sends the first bind.
  static Result<std::unique_ptr<RelayUdpPath>> Open(const std::string& host, uint16_t port,
                                                    RelayCredentials credentials, TimePoint ticket_received_at,
                                                    TimePoint now, RelayClientSessionOptions options = {});
  // On an existing socket (of the relay's family); sends the first bind.
  RelayUdpPath(std::shared_ptr<SharedUdpSocket> socket, const UdpEndpoint& relay, RelayCredentials credentials,
               TimePoint ticket_received_at, TimePoint now, RelayClientSessionOptions options = {});

  Status Send(std::span<const uint8_t> sealed, TimePoint now) override;
  std::optional<std::vector<uint8_t>> Receive(TimePoint now) override;
  void Tick(TimePoint now) override;
  int fd() const override { return socket_->fd(); }
  bool ready() const override { return ready_.load(std::memory_order_relaxed); }
  bool open() const override { return true; }  // UDP never knows it is dead; the path manager judges
  PathKind kind() const override { return PathKind::kRelayUdp; }
  std::string description() const override { return "relay-udp " + socket_->relay_endpoint().ToString(); }
  PacketPathStats stats() const override;

  // After a network change: rebind at once (binds until a new ack). Any thread; the
  // media thread carries it out at its next Send, Receive or Tick.
  void RequestRebind() { rebind_requested_.fetch_add(1, std::memory_order_acq_rel); }
  // Any thread: a fresh socket (new source port, SharedUdpSocket::Reopen, shared with
  // the P2P path) and a rebind from it, so the relay moves this participant there.
  Status SwitchToFreshSocket();
  // Any thread: move to another relay holding the same ticket key (relay failover): the
  // same session, ticket and keys, binds to `relay` from now on until it acknowledges.
  // `relay` must be of the socket's address family; errors are one sentence.
  Status SwitchRelay(const UdpEndpoint& relay);
  // Any thread: the relay acknowledged a bind made after the latest RequestRebind (true
  // when none was asked for).
  bool rebind_acknowledged() const {
    return rebind_acknowledged_.load(std::memory_order_acquire) >= rebind_requested_.load(std::memory_order_acquire);
  }
  // The address the relay saw us at (from its latest ack); also on the socket.
  std::optional<UdpEndpoint> reflexive_address() const { return socket_->reflexive_endpoint(); }
  const std::shared_ptr<SharedUdpSocket>& socket() const { return socket_; }
  // The relay in use (changed by SwitchRelay).
  UdpEndpoint relay_endpoint() const { return socket_->relay_endpoint(); }

 private:
  void SendDatagram(const std::vector<uint8_t>& datagram);
  // Media thread: hands a pending RequestRebind to the session.
  void ApplyRebindRequest();

  // The relay in use is the socket's relay endpoint (guarded by its mutex).
  std::shared_ptr<SharedUdpSocket> socket_;
  RelayClientSession session_;
  std::atomic<bool> ready_{false};
  // Rebind generations: asked for (any thread), handed to the session (media thread
  // only), acknowledged by the relay (written by the media thread).
  std::atomic<uint64_t> rebind_requested_{0};
  uint64_t rebind_applied_ = 0;
  std::atomic<uint64_t> rebind_acknowledged_{0};
  // Written by the media thread, read by stats() from any thread (relaxed counters).
  std::atomic<uint64_t> packets_sent_{0}, bytes_sent_{0}, send_failures_{0}, packets_received_{0},
      bytes_received_{0}, dropped_received_{0};
};

}  // namespace parley::net
