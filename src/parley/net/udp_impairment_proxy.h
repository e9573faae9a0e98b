// The UDP impairment proxy: the network simulator (NetsimLink) applied to real
// sockets, because the kernel's netem is not available on our machines.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>

#include "parley/base/result.h"
#include "parley/base/time.h"
#include "parley/net/netsim_spec.h"
#include "parley/net/udp_endpoint.h"

namespace parley::net {

struct UdpImpairmentProxyOptions {
  UdpEndpoint listen;    // where clients send; port 0 picks a free one (see listen_endpoint())
  UdpEndpoint upstream;  // where their datagrams go
  NetsimSpec forward;    // client -> upstream
  NetsimSpec reverse;    // upstream -> client
  uint64_t seed = 1;     // client n's links use NetsimDeriveSeed(seed, 2n) and (.., 2n+1)
  size_t max_clients = 256;                 // datagrams from further clients are dropped
  Duration client_idle_timeout = seconds(120);  // a silent client's upstream socket closes
  size_t max_in_flight = 10000;             // per link; beyond it datagrams are dropped
};

// Counters for one direction. Every received datagram ends up in exactly one of
// forwarded, lost (by the simulated network), overflow (max_in_flight or
// max_clients) or send_errors, or is still in flight; duplicates add to forwarded.
struct UdpImpairmentDirectionStats {
  uint64_t received = 0;
  uint64_t forwarded = 0;
  uint64_t lost = 0;
  uint64_t overflow = 0;
  uint64_t send_errors = 0;
};

struct UdpImpairmentProxyStats {
  UdpImpairmentDirectionStats forward;  // client -> upstream
  UdpImpairmentDirectionStats reverse;  // upstream -> client
  uint64_t clients = 0;                 // clients seen since start (NAT entries made)
  uint64_t active_clients = 0;          // entries now
};

// A NAT-like relay with a simulated network in each direction: each client (source
// address of a datagram arriving at `listen`) gets its own connected upstream socket,
// so the upstream sees a distinct source per client and its replies come back on that
// socket and go to that client from `listen`. Each client has its own pair of
// NetsimLinks (its own access network), started when its first datagram arrives and
// driven by steady_clock: the proxy is a thin adapter; the impairments are the pure
// simulator's, with the same spec syntax and seeds as every test and the lab.
//
// It binds only `listen` and connects only to `upstream` (upstream sockets take the
// source address the kernel's routing picks; no explicit bind). Timing precision is
// that of one thread in ppoll (tens of microseconds on an idle machine).
//
// Threads: Start spawns one thread that owns all sockets and links. Stop, stats() and
// listen_endpoint() may be called from any thread; Stop is idempotent, joins the
// thread, closes the sockets and drops datagrams still in flight. The destructor stops.
class UdpImpairmentProxy {
 public:
  // Binds `listen` and starts forwarding. Errors say what was wrong, e.g. "cannot
  // listen on 127.0.0.1:9000 (Address already in use): choose another --listen port".
  static Result<std::unique_ptr<UdpImpairmentProxy>> Start(UdpImpairmentProxyOptions options);
  ~UdpImpairmentProxy();
  UdpImpairmentProxy(const UdpImpairmentProxy&) = delete;
  UdpImpairmentProxy& operator=(const UdpImpairmentProxy&) = delete;

  void Stop();
  // The bound address, with the real port when `listen` asked for port 0.
  const UdpEndpoint& listen_endpoint() const { return listen_endpoint_; }
  UdpImpairmentProxyStats stats() const;

 private:
  struct Counters;
  class Loop;
  explicit UdpImpairmentProxy(UdpEndpoint bound);

  UdpEndpoint listen_endpoint_;
  std::unique_ptr<Counters> counters_;  // written by the thread, read by stats()
  std::unique_ptr<Loop> loop_;          // run by the thread; Stop destroys it after the join
  std::thread thread_;
  std::atomic<bool> stopped_{false};
};

}  // namespace parley::net
