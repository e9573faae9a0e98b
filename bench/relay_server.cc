// Runs parleyd's UdpRelay on its own for the relay benchmark (scripts/bench-relay):
// prints the bound port, relays until SIGINT/SIGTERM, then prints its stats as JSON.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <unistd.h>

#include "parley/server/udp_relay.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || std::strlen(argv[2]) != 64) {
    std::fprintf(stderr, "usage: relay_server PORT KEY_HEX64\n  Relays on 127.0.0.1:PORT (0: any) with the ticket key KEY_HEX64 (32 bytes as hex).\n");
    return 2;
  }
  parley::server::RelayConfig config;
  config.bind_host = "127.0.0.1";
  config.port = static_cast<uint16_t>(std::atoi(argv[1]));
  config.allow_loopback = true;  // the load comes from loopback
  for (int i = 0; i < 32; ++i) config.ticket_key[i] = static_cast<uint8_t>(std::stoi(std::string(argv[2] + 2 * i, 2), nullptr, 16));
  parley::server::UdpRelay relay(config);
  auto started = relay.Start();
  if (!started.ok()) {
    std::fprintf(stderr, "%s\n", started.error().message.c_str());
    return 1;
  }
  std::printf("%u\n", relay.bound_port());
  std::fflush(stdout);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop) ::usleep(50'000);
  relay.Stop();
  const auto stats = relay.stats();
  std::printf("{\"received\": %llu, \"forwarded\": %llu, \"binds\": %llu, \"dropped\": {",
              static_cast<unsigned long long>(stats.received), static_cast<unsigned long long>(stats.forwarded),
              static_cast<unsigned long long>(stats.binds));
  for (std::size_t i = 0; i < parley::server::kRelayDropReasonCount; ++i) {
    std::printf("%s\"%s\": %llu", i ? ", " : "",
                std::string(parley::server::RelayDropReasonName(static_cast<parley::server::RelayDropReason>(i))).c_str(),
                static_cast<unsigned long long>(stats.dropped[i]));
  }
  std::printf("}}\n");
  return 0;
}
