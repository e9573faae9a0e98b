// The direct P2P path: the call's sealed packets over UDP straight to the peer, found
// by simultaneous-open hole punching over the candidates exchanged in signaling.
// docs/protocol.md, "Direct P2P".
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "parley/net/datagram_port.h"
#include "parley/net/packet_path.h"

namespace parley::net {

struct DirectUdpPathOptions {
  // While nothing has arrived from the peer: a candidate that has been sent to for
  // this long without an answer from any candidate is given up (P2P blocked, or an
  // address that cannot be reached from here).
  Duration candidate_timeout = seconds(10);
  // After the peer was heard: this long without a datagram from it and the path stops
  // being ready and sends to every candidate again (the peer moved, or a NAT mapping
  // expired), each with a fresh candidate_timeout.
  Duration silence_timeout = seconds(3);
  // Loopback candidates are used only when the relay is on loopback too (tests).
  bool allow_loopback = false;
};

// Sends every sealed packet to each not-yet-failed candidate of the peer until a
// datagram arrives from one of them (both sides do this as soon as they have the
// other's candidates, so each side's first packets open its own NAT for the other's),
// then to that address only; a later datagram from another candidate moves the path
// there. Only datagrams whose source is a candidate are handed up, and only of a
// sealed packet's size (25..1200 bytes); the rest are dropped and counted. It adds
// nothing to the wire: a datagram is exactly one sealed packet.
//
// Threads: Send, Receive and Tick (and the constructor) from one thread at a time,
// the call's media thread. SetPeerCandidates from any thread (signaling's): the
// candidates take effect at that thread's next Send, Receive or Tick. ready(), open(),
// stats(), description() from any thread. `port` must outlive the path.
class DirectUdpPath final : public PacketPath {
 public:
  explicit DirectUdpPath(DatagramPort& port, DirectUdpPathOptions options = {});

  // The peer's candidates from `peer_candidates`, replacing earlier ones. Those that
  // fail CheckCandidate, are loopback without allow_loopback, or come after
  // kMaxCandidates are left out; returns how many are kept. If the address in use is
  // not among them, the path looks for the peer again.
  std::size_t SetPeerCandidates(std::span<const UdpEndpoint> candidates);

  Status Send(std::span<const uint8_t> sealed, TimePoint now) override;
  std::optional<std::vector<uint8_t>> Receive(TimePoint now) override;
  void Tick(TimePoint now) override;
  int fd() const override { return port_.fd(); }
  bool ready() const override { return ready_.load(std::memory_order_relaxed); }
  bool open() const override { return open_.load(std::memory_order_relaxed); }
  PathKind kind() const override { return PathKind::kDirectUdp; }
  // "p2p 198.51.100.7:40000" once the peer is heard, else "p2p (trying 3 addresses)".
  std::string description() const override;
  PacketPathStats stats() const override;

  // Datagrams dropped because their source is not a candidate (also in
  // dropped_received). Any thread.
  uint64_t datagrams_from_strangers() const { return strangers_.load(std::memory_order_relaxed); }
  // The peer's address in use, if heard. Media thread only.
  const std::optional<UdpEndpoint>& peer_address() const { return peer_; }

 private:
  struct Candidate {
    UdpEndpoint endpoint;
    std::optional<TimePoint> first_sent;  // since the last (re)start of punching
    bool failed = false;
  };
  // Takes candidates handed over by SetPeerCandidates, if any.
  void ApplyPendingCandidates();
  void Expire(TimePoint now);
  void UpdateDescription();
  bool IsCandidate(const UdpEndpoint& from) const;

  DatagramPort& port_;
  const DirectUdpPathOptions options_;

  // Media thread only.
  std::vector<Candidate> candidates_;
  std::optional<UdpEndpoint> peer_;  // where packets go once heard
  TimePoint last_heard_{};

  std::mutex pending_mutex_;  // guards pending_
  std::optional<std::vector<UdpEndpoint>> pending_;

  mutable std::mutex description_mutex_;  // guards description_
  std::string description_ = "p2p (no candidates yet)";

  std::atomic<bool> ready_{false};
  std::atomic<bool> open_{true};
  std::atomic<uint64_t> packets_sent_{0}, bytes_sent_{0}, send_failures_{0}, packets_received_{0},
      bytes_received_{0}, dropped_received_{0}, strangers_{0};
};

}  // namespace parley::net
