// Fuzzes the client's relay session with what a relay (or anyone on the path) might
// send it, mixed with its own sends: raw datagrams, valid acks (possibly altered),
// sealed packets to wrap, timer ticks and rebind requests. Checks: nothing crashes;
// binds start with 01xxxxxx; a sealed arrival is the datagram itself; the session is
// ready only after an authentic ack for a bind it made.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "parley/base/check.h"
#include "parley/net/relay_client_session.h"

using namespace parley;
using namespace parley::net;

namespace {

RelayCredentials Credentials() {
  RelayCredentials c;
  c.ticket.fill(3);
  c.hop_key.data()[0] = 7;
  c.bind_key.fill(1);
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const RelayCredentials credentials = Credentials();
  std::span<const uint8_t> input(data, size);
  uint64_t nonce_counter = 0;
  RelayClientSession session(credentials, TimePoint{}, {}, [&](std::span<uint8_t> out) {
    std::memset(out.data(), 0, out.size());
    std::memcpy(out.data(), &nonce_counter, sizeof(nonce_counter));
    ++nonce_counter;
  });
  TimePoint now{};
  uint64_t made_bind_acked = 0;
  // Records: op (1) | length (2, big-endian) | bytes.
  while (input.size() >= 3) {
    const uint8_t op = input[0];
    const std::size_t length = std::min<std::size_t>((std::size_t{input[1]} << 8) | input[2], input.size() - 3);
    const auto bytes = input.subspan(3, length);
    input = input.subspan(3 + length);
    now += milliseconds(op >> 3);
    switch (op & 7) {
      case 0: case 1: {  // a raw datagram from the relay's address
        const bool was_ready = session.ready();
        const auto result = session.Unwrap(bytes);
        if (result.kind == RelayClientSession::Arrival::kSealed) {
          PARLEY_CHECK(result.sealed.data() == bytes.data() && result.sealed.size() == bytes.size());
        }
        // Random bytes never make the session ready (an ack needs the hop key).
        PARLEY_CHECK(session.ready() == was_ready || made_bind_acked > 0);
        break;
      }
      case 2: {  // an authentic ack for elapsed_ms from the bytes, maybe altered
        RelayAckContents ack;
        for (std::size_t i = 0; i < std::min<std::size_t>(bytes.size(), 2); ++i) ack.elapsed_ms = ack.elapsed_ms << 8 | bytes[i];
        ack.ip[10] = ack.ip[11] = 0xff;
        ack.port = 4000;
        std::array<uint8_t, kRelayNonceSize> nonce{};
        std::vector<uint8_t> out(bytes.size() > 2 ? 67 + bytes[2] % 200 : 96);
        WriteRelayAck(credentials.hop_key, nonce, ack, out);
        if (bytes.size() > 4 && (bytes[3] & 1)) out[bytes[4] % out.size()] ^= 0x20;
        const auto result = session.Unwrap(out);
        if (session.ready()) ++made_bind_acked;
        (void)result;
        break;
      }
      case 3: case 4: {  // wrap a sealed packet
        auto datagram = session.Wrap(bytes, now);
        if (datagram.ok() && datagram->size() != bytes.size()) {
          PARLEY_CHECK(HasObfuscatedFirstByte((*datagram)[0]));
        }
        break;
      }
      case 5:
        if (auto bind = session.TakeDueBind(now)) PARLEY_CHECK(HasObfuscatedFirstByte((*bind)[0]));
        break;
      case 6:
        session.RequestRebind();
        break;
      default:
        now += seconds(bytes.empty() ? 1 : bytes[0]);
        break;
    }
  }
  return 0;
}
