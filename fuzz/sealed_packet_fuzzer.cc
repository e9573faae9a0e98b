// Fuzzes packet opening (outside input from the network) and the padding parser:
// arbitrary bytes never open, never move the replay window, never crash; sealed
// content always comes back unchanged.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <sodium.h>

#include "parley/base/check.h"
#include "parley/crypto/packet_opener.h"
#include "parley/crypto/packet_sealer.h"

using namespace parley::crypto;

namespace {
DirectionKeys FixedKeys() {
  DirectionKeys keys;
  for (std::size_t i = 0; i < 32; ++i) {
    keys.chain_key.data()[i] = static_cast<uint8_t>(i);
    keys.header_key.data()[i] = static_cast<uint8_t>(0x80 + i);
  }
  return keys;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  static const DirectionKeys keys = FixedKeys();
  RatchetSchedule schedule{.counter_bits = 4};  // small epochs reach the ratchet paths
  PacketOpener opener(keys, schedule);
  PARLEY_CHECK(!opener.Open(bytes).ok());
  PARLEY_CHECK(opener.replay_window().empty());

  // Differential: our padding check agrees with libsodium's on every input.
  auto unpadded = UnpaddedSize(bytes);
  std::size_t sodium_size = 0;
  const bool sodium_ok = size > 0 && sodium_unpad(&sodium_size, data, size, size) == 0;
  PARLEY_CHECK(unpadded.ok() == sodium_ok);
  PARLEY_CHECK(!sodium_ok || *unpadded == sodium_size);

  // Seal the input as content (first byte picks the policy and how many packets come
  // before it), then open: a round trip under every policy and epoch.
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  auto content = bytes.subspan(1, std::min<std::size_t>(size - 1, kMaxContentSize));
  PaddingPolicy policy = selector % 3 == 0   ? PaddingPolicy::Off()
                         : selector % 3 == 1 ? PaddingPolicy::Buckets()
                                             : PaddingPolicy::Constant(kMaxSealedSize).value();
  parley::TimePoint now{};
  PacketSealer sealer(keys, now, policy, schedule);
  for (int i = 0; i < selector / 3 % 40; ++i) (void)sealer.Seal({}, now).value();
  auto sealed = sealer.Seal(content, now);
  PARLEY_CHECK(sealed.ok());
  auto opened = opener.Open(*sealed);
  PARLEY_CHECK(opened.ok());
  PARLEY_CHECK(opened->size() == content.size() && std::equal(content.begin(), content.end(), opened->begin()));
  PARLEY_CHECK(!opener.Open(*sealed).ok());  // replay
  return 0;
}
