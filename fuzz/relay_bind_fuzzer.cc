// Fuzzes what the relay does with arbitrary datagrams, as UdpRelay does it: the mark,
// the ticket, the bind's box, then the session table. Records in the input are raw
// datagrams or valid binds (possibly with one byte flipped), so authenticated paths are
// reached without seeds of real crypto. Checks: nothing crashes; nothing is forwarded
// or acknowledged except for a bound participant; acks answer accepted binds only.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "parley/base/check.h"
#include "parley/net/relay_framing.h"
#include "parley/server/relay_session_table.h"
#include "parley/server/relay_ticket.h"

using namespace parley;
using namespace parley::server;

namespace {

constexpr int64_t kIssuedMs = 1'700'000'000'000;

struct World {
  RelayTicketIssuer issuer{std::span<const uint8_t, 32>(Key())};
  net::RelayBindKeys bind_keys{std::span<const uint8_t, 32>(issuer.bind_key())};
  std::vector<std::vector<uint8_t>> tickets;  // call c, participant p at 2c + p
  World() {
    for (int i = 0; i < 8; ++i) {
      RelayTicketClaims claims{};
      claims.call_id.fill(static_cast<uint8_t>(i / 2));
      claims.participant = static_cast<uint8_t>(i % 2);
      claims.expires_unix_s = kIssuedMs / 1000 + 3600;
      claims.issued_unix_ms = kIssuedMs;
      tickets.push_back(issuer.Issue(claims));
    }
  }
  static const std::array<uint8_t, 32>& Key() {
    static const std::array<uint8_t, 32> key = [] {
      std::array<uint8_t, 32> k;
      k.fill(0x42);
      return k;
    }();
    return key;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const World world;
  std::span<const uint8_t> input(data, size);
  RelayLimits limits;
  limits.idle_timeout = seconds(40);
  RelaySessionTable table(limits, RelayAddressRules{true, {}});
  TimePoint now{};
  std::vector<uint8_t> scratch(net::kMaxRelayDatagramSize);
  // Records: source (1) | op (1) | length (2, big-endian) | bytes.
  while (input.size() >= 4) {
    const uint8_t source = input[0];
    const uint8_t op = input[1];
    const std::size_t length = std::min<std::size_t>((std::size_t{input[2]} << 8) | input[3], input.size() - 4);
    const auto bytes = input.subspan(4, length);
    input = input.subspan(4 + length);
    now += milliseconds(7);
    const int64_t now_unix_ms = kIssuedMs + std::chrono::duration_cast<milliseconds>(now.time_since_epoch()).count();

    std::vector<uint8_t> datagram(bytes.begin(), bytes.end());
    if (op & 1) {
      // A valid bind of ticket (op >> 1) & 7, elapsed and sealed size from the bytes.
      const auto& ticket = world.tickets[(op >> 1) & 7];
      uint64_t elapsed = 0;
      for (std::size_t i = 0; i < std::min<std::size_t>(bytes.size(), 3); ++i) elapsed = elapsed << 8 | bytes[i];
      std::size_t sealed_size = bytes.size() > 3 ? bytes[3] * 4 : 0;
      if (sealed_size != 0 && sealed_size < 25) sealed_size = 25;
      std::vector<uint8_t> sealed(sealed_size, 0x41);
      std::array<uint8_t, net::kRelayNonceSize> nonce{};
      for (std::size_t i = 4; i < std::min<std::size_t>(bytes.size(), 4 + nonce.size()); ++i) nonce[i - 4] = bytes[i];
      datagram.assign(net::RelayBindSize(sealed.size()), 0);
      net::WriteRelayBind(world.bind_keys, std::span<const uint8_t, net::kRelayTicketSize>(ticket.data(), ticket.size()),
                          world.issuer.HopKey(ticket), nonce, elapsed, sealed, datagram);
      if (op & 0x10 && bytes.size() > 30) datagram[bytes[30] % datagram.size()] ^= static_cast<uint8_t>(1 + bytes[29] % 255);
    }
    const RelaySource from{RelayAddress::FromIpv4(0x0a000001 + (source & 3), static_cast<uint16_t>(1000 + (source >> 2 & 3))),
                           (source & 0x10) ? RelaySocket::kBridge : RelaySocket::kPublic};
    if (datagram.size() < 25 || datagram.size() > net::kMaxRelayDatagramSize) continue;
    RelayDecision decision;
    if (!net::HasRelayBindMark(world.bind_keys, datagram)) {
      decision = table.OnData(from, datagram.size(), now);
      PARLEY_CHECK(!decision.ack && !decision.bound);
    } else {
      const auto ticket = net::UnmaskRelayTicket(world.bind_keys, datagram);
      auto claims = world.issuer.Verify(ticket, now_unix_ms / 1000);
      if (!claims.ok()) continue;
      auto contents = net::OpenRelayBind(world.issuer.HopKey(ticket), ticket, datagram, scratch);
      if (!contents.ok()) {
        PARLEY_CHECK(!contents.error().message.empty());
        continue;
      }
      PARLEY_CHECK(contents->sealed.size() <= datagram.size() - net::kRelayBindOverhead);
      decision = table.OnBind(*claims, contents->elapsed_ms, from, contents->sealed.size(), now, now_unix_ms);
      PARLEY_CHECK(!decision.ack || decision.bound);
      PARLEY_CHECK(!decision.ack || decision.ack_elapsed_ms == contents->elapsed_ms);
      if (decision.bound) PARLEY_CHECK(table.SourceOf(claims->call_id, claims->participant) == from);
    }
    if (decision.action == RelayDecision::Action::kForward) {
      PARLEY_CHECK(!table.IsRefused(decision.to));
      PARLEY_CHECK(!(decision.to == from));
      PARLEY_CHECK(decision.to.address.port() >= 1000 && decision.to.address.port() < 1004);
    }
    if (input.size() % 5 == 0) table.ExpireIdle(now);
  }
  return 0;
}
