// Sealing and opening: round trips, tampering, replay and reordering, the key
// ratchet, padding sizes, and keys that must not open each other's packets.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "crypto_test_support.h"
#include "parley/crypto/key_ratchet.h"
#include "parley/crypto/packet_opener.h"
#include "parley/crypto/packet_sealer.h"

namespace parley::crypto {
namespace {

using std::chrono::minutes;

CallKeys CallerKeys(CallKeys* callee = nullptr) {
  testing::HonestCall call;
  call.Run();
  if (callee) *callee = call.bob.TakeKeys();
  return call.alice.TakeKeys();
}

std::vector<uint8_t> Content(std::size_t size, uint8_t seed) {
  std::vector<uint8_t> out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(seed + 31 * i);
  return out;
}

struct BothKeys {
  CallKeys alice, bob;
  BothKeys() { alice = CallerKeys(&bob); }
};

struct Pipe {
  BothKeys keys;
  TimePoint now{};
  PacketSealer sealer;
  PacketOpener opener;

  explicit Pipe(RatchetSchedule schedule = {}, PaddingPolicy padding = PaddingPolicy::Buckets())
      : sealer(keys.alice.media.send, now, padding, schedule), opener(keys.bob.media.receive, schedule) {}

  std::vector<uint8_t> Seal(std::size_t size = 100, uint8_t seed = 1) {
    return sealer.Seal(Content(size, seed), now).value();
  }
};

TEST(PacketProtectionTest, RoundTripsEverySize) {
  Pipe pipe;
  for (std::size_t size = 0; size <= kMaxContentSize; size += 13) {
    auto sealed = pipe.Seal(size, static_cast<uint8_t>(size));
    auto opened = pipe.opener.Open(sealed);
    ASSERT_TRUE(opened.ok()) << size << ": " << opened.error().message;
    EXPECT_EQ(*opened, Content(size, static_cast<uint8_t>(size)));
  }
}

TEST(PacketProtectionTest, SealedSizesFollowThePolicy) {
  for (auto padding : {PaddingPolicy::Off(), PaddingPolicy::Buckets(), PaddingPolicy::Constant(512).value()}) {
    Pipe pipe({}, padding);
    for (std::size_t size : {0, 1, 39, 40, 100, 300, 487}) {
      auto sealed = pipe.Seal(size);
      EXPECT_EQ(sealed.size(), padding.SealedSize(size).value());
      EXPECT_EQ(pipe.opener.Open(sealed).value().size(), size);
    }
  }
}

// The bitrate controller's probe padding: at least the floor, as the policy pads content
// of that size (the next bucket up, at most 1200), never less than the content needs;
// a constant size keeps its size. The receiver gets the content, nothing more.
TEST(PacketProtectionTest, MinimumSealedSizePadsToTheNextBucketUp) {
  Pipe pipe;
  const std::vector<uint8_t> content = Content(30, 7);  // 64 bytes sealed on its own
  for (auto [floor, expected] : std::vector<std::pair<std::size_t, std::size_t>>{
           {0, 64}, {64, 64}, {65, 96}, {100, 128}, {192, 192}, {1100, 1200}, {5000, 1200}}) {
    auto sealed = pipe.sealer.Seal(content, pipe.now, floor).value();
    EXPECT_EQ(sealed.size(), expected) << "floor " << floor;
    EXPECT_EQ(pipe.sealer.SealedSize(content.size(), floor).value(), expected);
    EXPECT_EQ(pipe.opener.Open(sealed).value(), content);
  }
  // Content larger than the floor: as without one.
  EXPECT_EQ(pipe.sealer.Seal(Content(200, 1), pipe.now, 96).value().size(), 256u);
  Pipe constant({}, PaddingPolicy::Constant(256).value());
  EXPECT_EQ(constant.sealer.Seal(content, constant.now, 1000).value().size(), 256u);
  Pipe off({}, PaddingPolicy::Off());
  EXPECT_EQ(off.sealer.Seal(content, off.now, 100).value().size(), 100u);
}

TEST(PacketProtectionTest, EveryBitFlipTruncationAndExtensionIsRejected) {
  Pipe pipe;
  auto sealed = pipe.Seal(100);
  for (std::size_t bit = 0; bit < sealed.size() * 8; ++bit) {
    auto tampered = sealed;
    tampered[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    ASSERT_FALSE(pipe.opener.Open(tampered).ok()) << "bit " << bit;
  }
  for (std::size_t size = 0; size < sealed.size(); ++size) {
    ASSERT_FALSE(pipe.opener.Open(std::span(sealed).first(size)).ok()) << "truncated to " << size;
    ASSERT_FALSE(pipe.opener.Open(std::span(sealed).subspan(sealed.size() - size)).ok()) << "tail " << size;
  }
  std::mt19937 rng(3);
  for (std::size_t extra = 1; extra <= 64; ++extra) {
    auto extended = sealed;
    for (std::size_t i = 0; i < extra; ++i) extended.push_back(static_cast<uint8_t>(rng()));
    ASSERT_FALSE(pipe.opener.Open(extended).ok()) << "extended by " << extra;
    auto zeros = sealed;
    zeros.resize(sealed.size() + extra, 0);
    ASSERT_FALSE(pipe.opener.Open(zeros).ok()) << "zero-extended by " << extra;
  }
  // None of that moved the window: the genuine packet still opens, once.
  EXPECT_TRUE(pipe.opener.replay_window().empty());
  EXPECT_TRUE(pipe.opener.Open(sealed).ok());
  EXPECT_FALSE(pipe.opener.Open(sealed).ok());
}

TEST(PacketProtectionTest, ReplaysAreRejectedOnceManyTimesAndAfterTheWindow) {
  Pipe pipe;
  auto first = pipe.Seal();
  ASSERT_TRUE(pipe.opener.Open(first).ok());
  auto again = pipe.opener.Open(first);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message, "replayed packet");
  for (int i = 0; i < 100; ++i) ASSERT_FALSE(pipe.opener.Open(first).ok());
  std::vector<std::vector<uint8_t>> recent;
  for (uint64_t i = 0; i < ReplayWindow::kSize + 10; ++i) {
    recent.push_back(pipe.Seal(60, static_cast<uint8_t>(i)));
    ASSERT_TRUE(pipe.opener.Open(recent.back()).ok());
  }
  auto late = pipe.opener.Open(first);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().message, "packet older than the replay window");
  for (auto& packet : recent) ASSERT_FALSE(pipe.opener.Open(packet).ok());
}

TEST(PacketProtectionTest, ReorderingWithinTheWindowIsAcceptedOutsideItIsNot) {
  Pipe pipe;
  std::vector<std::vector<uint8_t>> packets;
  for (int i = 0; i < 3000; ++i) packets.push_back(pipe.Seal(50, static_cast<uint8_t>(i)));
  // Deliver in shuffled blocks of 1000 (every displacement < 1024).
  std::mt19937 rng(5);
  std::vector<std::size_t> order(packets.size());
  std::iota(order.begin(), order.end(), 0);
  for (std::size_t b = 0; b < order.size(); b += 1000) {
    std::shuffle(order.begin() + static_cast<std::ptrdiff_t>(b), order.begin() + static_cast<std::ptrdiff_t>(b + 1000),
                 rng);
  }
  for (std::size_t i : order) {
    auto opened = pipe.opener.Open(packets[i]);
    ASSERT_TRUE(opened.ok()) << i << ": " << opened.error().message;
    EXPECT_EQ(opened->front(), Content(50, static_cast<uint8_t>(i)).front());
  }
  // A packet held back more than the window behind the newest is dropped.
  auto held = pipe.Seal();
  for (uint64_t i = 0; i < ReplayWindow::kSize; ++i) ASSERT_TRUE(pipe.opener.Open(pipe.Seal()).ok());
  EXPECT_FALSE(pipe.opener.Open(held).ok());
}

TEST(PacketProtectionTest, CounterNeverRepeatsAcrossRatchets) {
  RatchetSchedule schedule{.counter_bits = 6, .max_epoch_age = minutes(10)};
  Pipe pipe(schedule);
  std::set<uint64_t> counters;
  uint64_t last = 0;
  for (int i = 0; i < 2000; ++i) {
    pipe.now += std::chrono::milliseconds(20);
    if (i % 300 == 299) pipe.now += minutes(10);  // time-based ratchets too
    std::vector<uint8_t> out(1200);
    auto opened = pipe.opener.OpenInto(pipe.Seal(20), out);
    ASSERT_TRUE(opened.ok()) << i << ": " << opened.error().message;
    ASSERT_TRUE(counters.insert(opened->counter).second) << "counter repeated: " << opened->counter;
    if (i > 0) {
      ASSERT_GT(opened->counter, last);
    }
    last = opened->counter;
  }
  EXPECT_GE(pipe.sealer.epoch(), 2000u / 64);
  EXPECT_EQ(pipe.opener.epoch(), pipe.sealer.epoch());
}

TEST(PacketProtectionTest, TimeRatchetJumpsToTheNextEpoch) {
  Pipe pipe;  // production schedule: 2^20 packets or 10 minutes
  ASSERT_TRUE(pipe.opener.Open(pipe.Seal()).ok());
  pipe.now += minutes(10);
  EXPECT_EQ(pipe.sealer.epoch(), 0u);
  auto sealed = pipe.Seal();
  EXPECT_EQ(pipe.sealer.epoch(), 1u);
  EXPECT_EQ(pipe.sealer.next_counter(), (uint64_t{1} << 20) + 1);
  std::vector<uint8_t> out(1200);
  auto opened = pipe.opener.OpenInto(sealed, out);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->counter, uint64_t{1} << 20);
  EXPECT_EQ(pipe.opener.epoch(), 1u);
  // Epoch 0's last counters are still inside the window (the opener cannot know the
  // sender skipped them), so its keys stay until the window has moved past them.
  EXPECT_TRUE(pipe.opener.holds_previous_epoch());
  // Follow the counters, not the packet count: the sealer skips a counter now and then
  // (wire shape), and skipped counters move the window too.
  const uint64_t window_leaves_epoch_0 = (uint64_t{1} << 20) + ReplayWindow::kSize - 1;
  for (;;) {
    auto next = pipe.Seal();
    auto next_opened = pipe.opener.OpenInto(next, out);
    ASSERT_TRUE(next_opened.ok());
    if (next_opened->counter >= window_leaves_epoch_0) break;
    ASSERT_TRUE(pipe.opener.holds_previous_epoch()) << next_opened->counter;
  }
  EXPECT_FALSE(pipe.opener.holds_previous_epoch());
  pipe.now += minutes(9);
  pipe.Seal();
  EXPECT_EQ(pipe.sealer.epoch(), 1u);
}

TEST(PacketProtectionTest, PreviousEpochKeysLiveOnlyWhileTheWindowReachesThem) {
  RatchetSchedule schedule{.counter_bits = 11};  // 2048 packets per epoch > window
  Pipe pipe(schedule);
  std::vector<std::vector<uint8_t>> epoch0;
  for (int i = 0; i < 2048; ++i) epoch0.push_back(pipe.Seal(10));
  auto first_of_epoch1 = pipe.Seal(10);
  EXPECT_EQ(pipe.sealer.epoch(), 1u);
  for (std::size_t i = 0; i + 1 < epoch0.size(); ++i) ASSERT_TRUE(pipe.opener.Open(epoch0[i]).ok());
  ASSERT_TRUE(pipe.opener.Open(first_of_epoch1).ok());
  EXPECT_EQ(pipe.opener.epoch(), 1u);
  EXPECT_TRUE(pipe.opener.holds_previous_epoch());
  ASSERT_TRUE(pipe.opener.Open(epoch0.back()).ok());  // reordered across the boundary
  for (int i = 0; i < 1100; ++i) ASSERT_TRUE(pipe.opener.Open(pipe.Seal(10)).ok());
  EXPECT_FALSE(pipe.opener.holds_previous_epoch());
}

TEST(PacketProtectionTest, RatchetIsOneWayAndDeterministic) {
  Secret<32> chain;
  chain.data()[0] = 1;
  KeyRatchet a(chain), b(chain);
  a.AdvanceTo(5);
  for (int e = 1; e <= 5; ++e) b.AdvanceTo(static_cast<uint64_t>(e));
  EXPECT_TRUE(a.keys().aead_key == b.keys().aead_key);
  KeyRatchet zero(chain);
  EXPECT_FALSE(zero.keys().aead_key == a.keys().aead_key);
  EXPECT_DEATH(a.AdvanceTo(4), "never moves backwards");
}

TEST(PacketProtectionTest, EpochsTooFarAheadAreRefused) {
  RatchetSchedule schedule{.counter_bits = 4};
  Pipe pipe(schedule);
  ASSERT_TRUE(pipe.opener.Open(pipe.Seal()).ok());
  // The sender moves 4 epochs on while every packet is lost.
  for (int i = 0; i < 16 * 4; ++i) pipe.Seal();
  auto far = pipe.Seal();
  EXPECT_EQ(pipe.sealer.epoch(), 4u);
  auto status = pipe.opener.Open(far);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("too far ahead"), std::string::npos);
  // Three epochs ahead is still fine.
  Pipe near(schedule);
  for (int i = 0; i < 16 * 3; ++i) near.Seal();
  EXPECT_TRUE(near.opener.Open(near.Seal()).ok());
}

TEST(PacketProtectionTest, KeysDoNotOpenEachOthersPackets) {
  CallKeys bob;
  CallKeys alice = CallerKeys(&bob);
  TimePoint now{};
  PacketSealer alice_media(alice.media.send, now);
  auto packet = alice_media.Seal(Content(80, 9), now).value();
  // Reflected back to the sender, or tried as control, or as the other direction.
  EXPECT_FALSE(PacketOpener(alice.media.receive).Open(packet).ok());
  EXPECT_FALSE(PacketOpener(bob.control.receive).Open(packet).ok());
  EXPECT_FALSE(PacketOpener(bob.media.send).Open(packet).ok());
  EXPECT_TRUE(PacketOpener(bob.media.receive).Open(packet).ok());
  // Another call's keys.
  testing::HonestCall other;
  other.bob_keys = SeededKeySource(4242);
  other.Run();
  EXPECT_FALSE(PacketOpener(other.bob.TakeKeys().media.receive).Open(packet).ok());
}

TEST(PacketProtectionTest, NoFixedBytesOnTheWire) {
  // The same content sealed twice shares no byte position with a constant value:
  // check that every byte position varies over 200 packets.
  Pipe pipe;
  std::vector<std::set<uint8_t>> values(128);
  for (int i = 0; i < 200; ++i) {
    auto sealed = pipe.Seal(100, 0);
    ASSERT_EQ(sealed.size(), 128u);
    for (std::size_t j = 0; j < sealed.size(); ++j) values[j].insert(sealed[j]);
  }
  // Byte 0 carries the fixed bits 01 (a QUIC short header's first byte): 64 values.
  EXPECT_GE(values[0].size(), 55u);  // of 64 possible; ~61 expected from 200 draws
  for (uint8_t v : values[0]) EXPECT_EQ(v & 0xC0, 0x40);
  for (std::size_t j = 1; j < values.size(); ++j) EXPECT_GT(values[j].size(), 100u) << "byte " << j;
}

TEST(PacketProtectionTest, ContentTooLargeForThePolicyIsAnError) {
  Pipe pipe({}, PaddingPolicy::Constant(128).value());
  EXPECT_FALSE(pipe.sealer.Seal(Content(104, 0), pipe.now).ok());
  EXPECT_EQ(pipe.sealer.next_counter(), 0u);
  EXPECT_TRUE(pipe.sealer.Seal(Content(103, 0), pipe.now).ok());
}

}  // namespace
}  // namespace parley::crypto
