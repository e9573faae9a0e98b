// parleyd's UDP relay: the socket loop around RelaySessionTable (obfuscated framing,
// docs/protocol.md "Relay (obfuscated UDP)"). One thread, recvmmsg/sendmmsg batches,
// answers nothing but authenticated binds.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "parley/base/result.h"
#include "parley/base/time.h"
#include "parley/server/relay_session_table.h"

namespace parley::server {

struct RelayConfig {
  // Numeric address to bind: "::" (default) is dual-stack, serving IPv4 and IPv6 on
  // one socket; "0.0.0.0" or a specific address serves only that family.
  std::string bind_host = "::";
  uint16_t port = 0;  // 0: an ephemeral port, reported by bound_port()
  std::array<uint8_t, 32> ticket_key{};  // the key the signaling hub issues tickets with
  Duration idle_timeout = seconds(60);  // binds are fresh within min(30 s, idle_timeout / 2)
  double packets_per_second = 150;  // per participant, token bucket (RelayLimits)
  double burst_packets = 50;
  double bytes_per_second = 64 * 1024;
  double burst_bytes = 32 * 1024;
  std::size_t max_calls = 200'000;
  bool allow_loopback = false;  // on only in tests and the demo
  std::vector<std::string> own_addresses;  // the server's public addresses: refused as peers
  // Also bind the bridge socket on 127.0.0.1:ephemeral (bridge_port()), for local
  // bridges such as the TLS front that relay their clients' datagrams.
  bool bridge = false;
};

// Counters since Start(). `received` counts datagrams; every one is either forwarded,
// dropped (by reason) or a payload-less bind (binds counts all accepted binds).
struct RelayStats {
  uint64_t received = 0;
  uint64_t forwarded = 0;
  uint64_t binds = 0;
  uint64_t acks = 0;  // acks sent (only ever in answer to an accepted bind)
  std::array<uint64_t, kRelayDropReasonCount> dropped{};
  uint64_t calls = 0;  // calls in the table at the last batch
  uint64_t dropped_total() const;
};

// Lifetime: Start() once, Stop() (or the destructor) once; the relay thread exists in
// between. Start, Stop, bound_port and stats may be called from any one controlling
// thread; stats() may also be called from any thread while running.
class UdpRelay {
 public:
  explicit UdpRelay(RelayConfig config);
  ~UdpRelay();
  UdpRelay(const UdpRelay&) = delete;
  UdpRelay& operator=(const UdpRelay&) = delete;

  // Binds the socket and starts the relay thread. Errors (bad address, port in use)
  // are one sentence for the operator.
  Status Start();
  // Wakes the thread through an eventfd, joins it and closes the socket. Idempotent.
  void Stop();

  uint16_t bound_port() const { return bound_port_; }
  // The bridge socket's port on 127.0.0.1 (0 unless config.bridge).
  uint16_t bridge_port() const { return bridge_port_; }
  RelayStats stats() const;

 private:
  struct Loop;  // the thread's state: buffers and the session table (udp_relay.cc)

  void Run(Loop& loop);
  // Receives and decides one batch from `socket`; false when it is drained.
  bool HandleBatch(Loop& loop, RelaySocket socket);

  RelayConfig config_;
  // Indexed by RelaySocket; -1 when not open.
  std::array<int, kRelaySocketCount> sockets_{-1, -1};
  std::array<int, kRelaySocketCount> families_{0, 0};
  int stop_fd_ = -1;
  uint16_t bound_port_ = 0;
  uint16_t bridge_port_ = 0;
  std::thread thread_;
  // Published by the relay thread after every batch (relaxed: counters, not sync).
  std::atomic<uint64_t> received_{0}, forwarded_{0}, binds_{0}, acks_{0}, calls_{0};
  std::array<std::atomic<uint64_t>, kRelayDropReasonCount> dropped_{};
};

}  // namespace parley::server
