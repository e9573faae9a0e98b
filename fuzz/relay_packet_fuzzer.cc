// Fuzzes the relay's plain UDP framing and what the relay does with a parsed packet:
// the parser never crashes, views stay inside the datagram and re-encode to it, and a
// session table fed a stream of arbitrary packets only ever forwards between bound
// participants of one call.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "parley/base/check.h"
#include "parley/net/relay_packet.h"
#include "parley/server/relay_session_table.h"
#include "parley/server/relay_ticket.h"

using namespace parley;
using namespace parley::server;

namespace {

// Tickets in the seed corpus were issued under this key (all bytes 0x42), valid until
// 2^40 s, so binds can authenticate and the table paths behind them are reached.
const RelayTicketIssuer& Issuer() {
  static const std::array<uint8_t, 32> key = [] {
    std::array<uint8_t, 32> k;
    k.fill(0x42);
    return k;
  }();
  static const RelayTicketIssuer issuer{std::span<const uint8_t, 32>(key)};
  return issuer;
}

void CheckParsed(std::span<const uint8_t> datagram, const RelayPacketView& view) {
  const uint8_t* begin = datagram.data();
  const uint8_t* end = begin + datagram.size();
  PARLEY_CHECK(view.sealed.empty() || (view.sealed.data() >= begin && view.sealed.data() + view.sealed.size() == end));
  PARLEY_CHECK(view.sealed.empty() || view.sealed.size() >= kMinSealedSize);
  PARLEY_CHECK(view.sealed.size() <= kMaxSealedSize);
  std::vector<uint8_t> again;
  if (view.kind == RelayPacketKind::kBind) {
    PARLEY_CHECK(!view.ticket.empty() && view.ticket.size() <= kMaxTicketSize);
    again = MakeRelayBindPacket(view.ticket, view.sealed);
  } else {
    PARLEY_CHECK(!view.sealed.empty());
    again = MakeRelayDataPacket(view.token, view.sealed);
  }
  PARLEY_CHECK(again.size() == datagram.size() && std::memcmp(again.data(), begin, again.size()) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> input(data, size);
  // The whole input as one datagram.
  if (auto parsed = ParseRelayPacket(input); parsed.ok()) {
    CheckParsed(input, *parsed);
  } else {
    PARLEY_CHECK(!parsed.error().message.empty());
  }

  // The input as a stream of records: [source (1)] [length (2, big-endian)] [datagram],
  // one simulated millisecond apart, from 8 possible sources.
  RelayLimits limits;
  limits.idle_timeout = milliseconds(50);
  RelaySessionTable table(limits, RelayAddressRules{true, {}});
  TimePoint now{};
  while (input.size() >= 3) {
    const uint8_t source = input[0] & 7;
    const std::size_t length = std::min<std::size_t>((std::size_t{input[1]} << 8) | input[2], input.size() - 3);
    const auto datagram = input.subspan(3, length);
    input = input.subspan(3 + length);
    now += milliseconds(1);
    const RelayAddress from = RelayAddress::FromIpv4(0x7f000001, static_cast<uint16_t>(1000 + source));
    auto parsed = ParseRelayPacket(datagram);
    if (!parsed.ok()) continue;
    CheckParsed(datagram, *parsed);
    RelayDecision decision;
    if (parsed->kind == RelayPacketKind::kBind) {
      auto claims = Issuer().Verify(parsed->ticket, 1'700'000'000);
      if (!claims.ok()) continue;
      decision = table.OnBind(*claims, SessionTokenFor(parsed->ticket), from, parsed->sealed.size(), now);
    } else {
      decision = table.OnData(parsed->token, from, parsed->sealed.size(), now);
    }
    if (decision.action == RelayDecision::Action::kForward) {
      // Only ever to a bound address other than a refused one.
      PARLEY_CHECK(!table.IsRefused(decision.to));
      PARLEY_CHECK(decision.to.port() >= 1000 && decision.to.port() < 1008);
    }
    if (input.size() % 5 == 0) table.ExpireIdle(now);
  }
  return 0;
}
