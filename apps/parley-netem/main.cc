// parley-netem: the UDP impairment proxy as a command. Argument parsing and wiring
// only; the proxy is parley/net/udp_impairment_proxy.h.
//
//   parley-netem --listen 127.0.0.1:PORT --to 127.0.0.1:PORT --network "loss=5%,jitter=20ms"
//                [--reverse-network SPEC] [--seed N]
//
// Runs until SIGINT or SIGTERM, then prints what it forwarded and lost and exits 0.
#include <signal.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>

#include "parley/net/netsim_spec.h"
#include "parley/net/udp_endpoint.h"
#include "parley/net/udp_impairment_proxy.h"

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "parley-netem: %s\n", message.c_str());
  return 2;
}

void PrintDirection(const char* name, const parley::net::UdpImpairmentDirectionStats& s) {
  std::fprintf(stderr,
               "parley-netem: %s: %llu received, %llu forwarded, %llu lost, %llu dropped (overflow), "
               "%llu send errors\n",
               name, static_cast<unsigned long long>(s.received),
               static_cast<unsigned long long>(s.forwarded), static_cast<unsigned long long>(s.lost),
               static_cast<unsigned long long>(s.overflow), static_cast<unsigned long long>(s.send_errors));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"UDP impairment proxy: forwards datagrams from --listen to --to and the replies back, "
               "through Parley's network simulator (one simulated link per client and direction)."};
  std::string listen_text;
  std::string to_text;
  std::string network = "";
  std::string reverse_network;
  bool reverse_given = false;
  uint64_t seed = 1;
  app.add_option("--listen", listen_text, "address:port clients send to, e.g. 127.0.0.1:40000")->required();
  app.add_option("--to", to_text, "address:port to forward to, e.g. 127.0.0.1:40001")->required();
  app.add_option("--network", network,
                 "conditions client -> upstream: a spec such as \"loss=5%,jitter=20ms\" or a preset name "
                 "(empty: a perfect link)");
  auto* reverse = app.add_option("--reverse-network", reverse_network,
                                 "conditions upstream -> client (default: the same as --network)");
  app.add_option("--seed", seed, "seed of the simulated links (same seed, same decisions)");
  CLI11_PARSE(app, argc, argv);
  reverse_given = reverse->count() > 0;

  auto listen = parley::net::UdpEndpoint::Parse(listen_text);
  if (!listen.ok()) return Fail("--listen: " + listen.error().message);
  auto to = parley::net::UdpEndpoint::Parse(to_text);
  if (!to.ok()) return Fail("--to: " + to.error().message);
  auto forward_spec = parley::net::ParseNetsimSpecOrPreset(network);
  if (!forward_spec.ok()) return Fail("--network: " + forward_spec.error().message);
  auto reverse_spec = parley::net::ParseNetsimSpecOrPreset(reverse_given ? reverse_network : network);
  if (!reverse_spec.ok()) return Fail("--reverse-network: " + reverse_spec.error().message);

  // Block the signals before the proxy's thread starts so it inherits the mask and
  // only sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  parley::net::UdpImpairmentProxyOptions options;
  options.listen = *listen;
  options.upstream = *to;
  options.forward = *forward_spec;
  options.reverse = *reverse_spec;
  options.seed = seed;
  auto proxy = parley::net::UdpImpairmentProxy::Start(std::move(options));
  if (!proxy.ok()) return Fail(proxy.error().message);

  std::fprintf(stderr, "parley-netem: %s -> %s (forward: %s; reverse: %s; seed %llu)\n",
               (*proxy)->listen_endpoint().ToString().c_str(), to->ToString().c_str(),
               parley::net::DescribeNetsimSpec(*forward_spec).c_str(),
               parley::net::DescribeNetsimSpec(*reverse_spec).c_str(), static_cast<unsigned long long>(seed));
  std::fflush(stderr);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  (*proxy)->Stop();
  const auto stats = (*proxy)->stats();
  PrintDirection("forward", stats.forward);
  PrintDirection("reverse", stats.reverse);
  std::fprintf(stderr, "parley-netem: %llu clients\n", static_cast<unsigned long long>(stats.clients));
  return 0;
}
