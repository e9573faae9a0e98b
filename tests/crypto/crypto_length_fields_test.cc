// Length edge cases (issue #7) for the crypto parsers: the sealed packet's size, its
// padding marker (the implicit content length), the content size a sealer takes, the
// key-agreement messages' sizes and the profile files' size limit. Each table sets the
// length to 0, 1, remaining - 1, remaining, remaining + 1 and its type's maximum and
// expects the exact error sentence (or success).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "crypto_test_support.h"
#include "parley/crypto/handshake_message.h"
#include "parley/crypto/packet_opener.h"
#include "parley/crypto/packet_sealer.h"
#include "parley/crypto/padding_policy.h"
#include "parley/crypto/profile_files.h"

#include "../length_case.h"

namespace parley::crypto {
namespace {

// One row of a table: what the length is set to, and the error expected ("" = accepted).
using test::ExpectOutcome;
using test::LengthCase;

struct Keys {
  CallKeys alice, bob;
  Keys() {
    testing::HonestCall call;
    call.Run();
    alice = call.alice.TakeKeys();
    bob = call.bob.TakeKeys();
  }
};

std::string SizeError(std::size_t size) {
  return "sealed packet of " + std::to_string(size) + " bytes is outside 25..1200";
}

// The datagram is the sealed packet's only length: sealed with padding off, a content
// of N bytes gives a packet of N + 25, so every size from 25 to 1200 is reachable.
TEST(CryptoLengthFieldsTest, SealedPacketSize) {
  const Keys keys;
  const std::vector<LengthCase> cases = {
      {"empty datagram", 0, SizeError(0)},
      {"one byte", 1, SizeError(1)},
      {"minimum - 1", kMinSealedSize - 1, SizeError(kMinSealedSize - 1)},
      {"minimum (no content)", kMinSealedSize, ""},
      {"minimum + 1 (one content byte)", kMinSealedSize + 1, ""},
      {"maximum - 1", kMaxSealedSize - 1, ""},
      {"maximum", kMaxSealedSize, ""},
      {"maximum + 1", kMaxSealedSize + 1, SizeError(kMaxSealedSize + 1)},
      {"largest UDP payload", 65507, SizeError(65507)},
  };
  for (const LengthCase& c : cases) {
    TimePoint now{};
    PacketSealer sealer(keys.alice.media.send, now, PaddingPolicy::Off());
    PacketOpener opener(keys.bob.media.receive);
    std::vector<uint8_t> packet;
    if (c.length >= kMinSealedSize && c.length <= kMaxSealedSize) {
      packet = sealer.Seal(std::vector<uint8_t>(c.length - kSealOverhead, 0x33), now).value();
      ASSERT_EQ(packet.size(), c.length);
    } else {
      packet.assign(c.length, 0x40);  // the right first bits: only the size is wrong
    }
    const auto opened = opener.Open(packet);
    ExpectOutcome(opened, c);
    if (opened.ok()) {
      EXPECT_EQ(opened->size(), c.length - kSealOverhead);
    }
  }
}

// A sealer refuses content it cannot fit, with the limit in the sentence.
TEST(CryptoLengthFieldsTest, ContentSizeASealerTakes) {
  const Keys keys;
  const std::string too_big = " bytes exceeds the maximum of 1175";
  const std::vector<LengthCase> cases = {
      {"no content", 0, ""},
      {"one byte", 1, ""},
      {"maximum - 1", kMaxContentSize - 1, ""},
      {"maximum", kMaxContentSize, ""},
      {"maximum + 1", kMaxContentSize + 1, "packet content of 1176" + too_big},
      {"largest UDP payload", 65507, "packet content of 65507" + too_big},
  };
  for (const LengthCase& c : cases) {
    TimePoint now{};
    PacketSealer sealer(keys.alice.media.send, now, PaddingPolicy::Buckets());
    ExpectOutcome(sealer.Seal(std::vector<uint8_t>(c.length, 1), now), c);
  }
  // And the size arithmetic alone at the type's maximum (no overflow into a small size).
  const auto huge = PaddingPolicy::Buckets().SealedSize(std::numeric_limits<std::size_t>::max());
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().message,
            "packet content of " + std::to_string(std::numeric_limits<std::size_t>::max()) + too_big);
}

// The padding marker is the content's implicit length: content || 0x80 || 0x00*.
// `length` is where the marker sits in a padded block of 64 bytes.
TEST(CryptoLengthFieldsTest, PaddingMarkerPosition) {
  constexpr std::size_t kBlock = 64;
  const std::string bad = "bad padding (no 0x80 marker followed by zeros)";
  const std::vector<LengthCase> cases = {
      {"content 0", 0, ""},
      {"content 1", 1, ""},
      {"content remaining - 1", kBlock - 1, ""},
      {"content remaining (no room for the marker)", kBlock, bad},
      {"content remaining + 1 (marker past the end)", kBlock + 1, bad},
      {"content type maximum (marker nowhere)", std::numeric_limits<std::size_t>::max(), bad},
  };
  for (const LengthCase& c : cases) {
    std::vector<uint8_t> padded(kBlock, 0);
    for (std::size_t i = 0; i < std::min(c.length, kBlock); ++i) padded[i] = 0x07;
    if (c.length < kBlock) padded[c.length] = 0x80;
    const auto size = UnpaddedSize(padded);
    ExpectOutcome(size, c);
    if (size.ok()) {
      EXPECT_EQ(*size, c.length);
    }
  }
  // All zeros (content length unknowable) and a non-zero byte after the marker.
  EXPECT_EQ(UnpaddedSize(std::vector<uint8_t>(kBlock, 0)).error().message, bad);
  std::vector<uint8_t> trailing(kBlock, 0);
  trailing[10] = 0x80;
  trailing[11] = 0x01;
  EXPECT_EQ(UnpaddedSize(trailing).error().message, bad);
  EXPECT_EQ(UnpaddedSize({}).error().message, bad);
}

// Key-agreement messages have one size per type; the message's length is its size.
TEST(CryptoLengthFieldsTest, HandshakeMessageSize) {
  testing::HonestCall call;
  call.Run();
  const auto must_be = [](int type, std::size_t size, std::size_t got) {
    return "handshake message of type " + std::to_string(type) + " must be " + std::to_string(size) +
           " bytes, got " + std::to_string(got);
  };
  struct Message {
    int type;
    std::vector<uint8_t> valid;
  };
  for (const Message& m : {Message{1, call.commit}, Message{2, call.accept}, Message{3, call.reveal}}) {
    const std::size_t size = m.valid.size();
    ASSERT_EQ(size, m.type == 3 ? kRevealSize : kCommitSize);
    const std::vector<LengthCase> cases = {
        {"empty", 0, "handshake message too short (0 bytes)"},
        {"one byte", 1, "handshake message too short (1 bytes)"},
        {"size - 1", size - 1, must_be(m.type, size, size - 1)},
        {"size", size, ""},
        {"size + 1", size + 1, must_be(m.type, size, size + 1)},
        {"largest signaling field", 65535, must_be(m.type, size, 65535)},
    };
    for (const LengthCase& c : cases) {
      std::vector<uint8_t> bytes = m.valid;
      bytes.resize(c.length, 0xab);
      ExpectOutcome(ParseHandshakeMessage(bytes), c);
    }
  }
}

// Profile files (identity key, known peers, client profile) are read with a size limit.
TEST(CryptoLengthFieldsTest, ProfileFileSizeLimit) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("parley-length-fields-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  constexpr std::size_t kLimit = 10000;  // more than one 4 KiB read
  const auto too_large = [&](const std::filesystem::path& path) {
    return path.string() + " is larger than 10000 bytes; it is not a Parley profile file";
  };
  const std::filesystem::path path = dir / "file";
  const std::vector<LengthCase> cases = {
      {"empty", 0, ""},
      {"one byte", 1, ""},
      {"limit - 1", kLimit - 1, ""},
      {"limit", kLimit, ""},
      {"limit + 1", kLimit + 1, too_large(path)},
  };
  for (const LengthCase& c : cases) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << std::string(c.length, 'k');
    const auto text = ReadSmallFile(path, kLimit);
    ExpectOutcome(text, c);
    if (text.ok()) {
      EXPECT_EQ(text->size(), c.length);
    }
  }
  // A 4 GiB sparse file (past any 32-bit size) stops at the limit instead of reading it all.
  std::error_code ec;
  std::filesystem::resize_file(path, std::uint64_t{1} << 32, ec);
  if (!ec) {
    ExpectOutcome(ReadSmallFile(path, kLimit), {"4 GiB sparse", std::size_t{1} << 32, too_large(path)});
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace parley::crypto
