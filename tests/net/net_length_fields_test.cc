// Length edge cases (issue #7) for the relay framing: a bind's datagram size, the
// u16 sealed-packet length inside its box, and an ack's size. Each table sets the
// length to 0, 1, remaining - 1, remaining, remaining + 1 and its type's maximum and
// expects the exact error sentence (or success). The boxes are sealed by the test with
// the real keys, so the length field is what the relay reads after authentication.
#include <gtest/gtest.h>
#include <sodium.h>

#include <cstdint>
#include <string>
#include <vector>

#include "parley/net/relay_framing.h"

#include "../length_case.h"

namespace parley::net {
namespace {

using test::ExpectOutcome;
using test::LengthCase;

struct Relay {
  std::array<uint8_t, kRelayTicketSize> ticket{};
  crypto::Secret<32> hop_key;
  std::array<uint8_t, kRelayKeySize> bind_key{};
  Relay() {
    for (std::size_t i = 0; i < ticket.size(); ++i) ticket[i] = static_cast<uint8_t>(3 * i);
    hop_key.data()[0] = 5;
    bind_key.fill(6);
  }

  // A bind of `datagram_size` bytes (>= kRelayBindOverhead) whose box says it carries
  // `length_field` bytes, followed by 0x5a bytes: written by WriteRelayBind for the
  // nonce, mark and masked ticket, then the box sealed again with the chosen field.
  std::vector<uint8_t> Bind(std::size_t datagram_size, uint16_t length_field) const {
    std::vector<uint8_t> bind(RelayBindSize(0));
    std::array<uint8_t, kRelayNonceSize> nonce{};
    nonce.fill(0x11);
    WriteRelayBind(RelayBindKeys(bind_key), ticket, hop_key, nonce, 42, {}, bind);
    constexpr std::size_t kBoxOffset = kRelayNonceSize + kRelayMarkSize + kRelayTicketSize;
    bind.resize(datagram_size);
    std::vector<uint8_t> plain(datagram_size - kBoxOffset - kRelayTagSize, 0x5a);
    for (int i = 0; i < 8; ++i) plain[static_cast<std::size_t>(i)] = static_cast<uint8_t>(i == 7 ? 42 : 0);
    plain[8] = static_cast<uint8_t>(length_field >> 8);
    plain[9] = static_cast<uint8_t>(length_field);
    unsigned long long written = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(bind.data() + kBoxOffset, &written, plain.data(), plain.size(),
                                               ticket.data(), ticket.size(), nullptr, bind.data(),
                                               hop_key.data());
    return bind;
  }

  Result<RelayBindContents> Open(const std::vector<uint8_t>& datagram, std::vector<uint8_t>& scratch) const {
    scratch.assign(std::max<std::size_t>(datagram.size(), 1), 0);
    return OpenRelayBind(hop_key, ticket, datagram, scratch);
  }
};

std::string CarriesError(std::size_t field, std::size_t follow) {
  return "The relay bind says it carries " + std::to_string(field) + " bytes, but " + std::to_string(follow) +
         " follow (a sealed packet is empty or at least 25 bytes).";
}

// The sealed length inside a bind of 256 bytes: 256 - 131 = 125 bytes follow it.
TEST(NetLengthFieldsTest, BindSealedLength) {
  const Relay relay;
  constexpr std::size_t kSize = 256;
  constexpr std::size_t kRemaining = kSize - kRelayBindOverhead;
  const std::vector<LengthCase> cases = {
      {"0 (a bind without a packet)", 0, ""},
      {"1 (shorter than any sealed packet)", 1, CarriesError(1, kRemaining)},
      {"24 (one short of the smallest sealed packet)", crypto::kMinSealedSize - 1,
       CarriesError(crypto::kMinSealedSize - 1, kRemaining)},
      {"remaining - 1", kRemaining - 1, ""},
      {"remaining", kRemaining, ""},
      {"remaining + 1", kRemaining + 1, CarriesError(kRemaining + 1, kRemaining)},
      {"u16 maximum", 65535, CarriesError(65535, kRemaining)},
  };
  for (const LengthCase& c : cases) {
    const auto bind = relay.Bind(kSize, static_cast<uint16_t>(c.length));
    ASSERT_TRUE(HasRelayBindMark(RelayBindKeys(relay.bind_key), bind));
    std::vector<uint8_t> scratch;
    const auto opened = relay.Open(bind, scratch);
    ExpectOutcome(opened, c);
    if (opened.ok()) {
      EXPECT_EQ(opened->sealed.size(), c.length);
      EXPECT_EQ(opened->elapsed_ms, 42u);
    }
  }
}

// The smallest bind has room for the length field and nothing after it.
TEST(NetLengthFieldsTest, BindSealedLengthInTheSmallestBind) {
  const Relay relay;
  std::vector<uint8_t> scratch;
  ExpectOutcome(relay.Open(relay.Bind(kRelayBindOverhead, 0), scratch), {"0 of 0", 0, ""});
  ExpectOutcome(relay.Open(relay.Bind(kRelayBindOverhead, 1), scratch), {"1 of 0", 1, CarriesError(1, 0)});
  ExpectOutcome(relay.Open(relay.Bind(kRelayBindOverhead, 65535), scratch),
                {"max of 0", 65535, CarriesError(65535, 0)});
}

std::string BindSizeError(std::size_t size) {
  return "The relay bind is " + std::to_string(size) + " bytes; it must be 131 to 1200.";
}

// The datagram's own size: 131..1200 bytes.
TEST(NetLengthFieldsTest, BindDatagramSize) {
  const Relay relay;
  const std::string not_authentic = "The relay bind does not authenticate with its ticket's hop key.";
  const std::vector<LengthCase> cases = {
      {"empty", 0, BindSizeError(0)},
      {"one byte", 1, BindSizeError(1)},
      {"overhead - 1", kRelayBindOverhead - 1, BindSizeError(kRelayBindOverhead - 1)},
      {"overhead", kRelayBindOverhead, ""},
      {"maximum - 1", kMaxRelayDatagramSize - 1, ""},
      {"maximum", kMaxRelayDatagramSize, ""},
      {"maximum + 1", kMaxRelayDatagramSize + 1, BindSizeError(kMaxRelayDatagramSize + 1)},
      {"largest UDP payload", 65507, BindSizeError(65507)},
  };
  for (const LengthCase& c : cases) {
    std::vector<uint8_t> datagram;
    if (c.length >= kRelayBindOverhead && c.length <= kMaxRelayDatagramSize) {
      datagram = relay.Bind(c.length, 0);
    } else {
      datagram.assign(c.length, 0x41);
    }
    std::vector<uint8_t> scratch;
    ExpectOutcome(relay.Open(datagram, scratch), c);
    if (c.error.empty()) {
      EXPECT_TRUE(HasRelayBindMark(RelayBindKeys(relay.bind_key), datagram));
    }
  }
  // A bind cut by one byte no longer authenticates (the tag moved).
  auto cut = relay.Bind(256, 0);
  cut.pop_back();
  std::vector<uint8_t> scratch;
  ExpectOutcome(relay.Open(cut, scratch), {"cut by one", 255, not_authentic});
}

std::string AckSizeError(std::size_t size) {
  return "A relay ack is 67 to 1200 bytes, not " + std::to_string(size) + ".";
}

// An ack's size: 67..1200 bytes (its address and port have fixed places).
TEST(NetLengthFieldsTest, AckDatagramSize) {
  crypto::Secret<32> hop_key;
  hop_key.data()[3] = 8;
  RelayAckContents contents;
  contents.elapsed_ms = 77;
  contents.ip = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
  contents.port = 4242;
  const std::vector<LengthCase> cases = {
      {"empty", 0, AckSizeError(0)},
      {"one byte", 1, AckSizeError(1)},
      {"minimum - 1", kRelayAckMinSize - 1, AckSizeError(kRelayAckMinSize - 1)},
      {"minimum", kRelayAckMinSize, ""},
      {"maximum", kMaxRelayDatagramSize, ""},
      {"maximum + 1", kMaxRelayDatagramSize + 1, AckSizeError(kMaxRelayDatagramSize + 1)},
      {"largest UDP payload", 65507, AckSizeError(65507)},
  };
  for (const LengthCase& c : cases) {
    std::vector<uint8_t> datagram(c.length, 0x42);
    if (c.error.empty()) {
      std::array<uint8_t, kRelayNonceSize> nonce{};
      WriteRelayAck(hop_key, nonce, contents, datagram);
    }
    const auto opened = OpenRelayAck(hop_key, datagram);
    ExpectOutcome(opened, c);
    if (opened.ok()) {
      EXPECT_EQ(*opened, contents);
    }
  }
  // In range but one byte short of what was sealed: not authentic.
  std::vector<uint8_t> ack(128);
  WriteRelayAck(hop_key, std::array<uint8_t, kRelayNonceSize>{}, contents, ack);
  ack.pop_back();
  ExpectOutcome(OpenRelayAck(hop_key, ack),
                {"cut by one", 127, "The datagram is not a relay ack for this ticket."});
}

}  // namespace
}  // namespace parley::net
