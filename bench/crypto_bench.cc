// Cost of protecting one 100-byte packet: Parley's seal + open (padding, counter
// masking, replay check, ratchet bookkeeping) against the bare libsodium AEAD
// encrypt + decrypt it is built on, measured in the same run; and what the wire-shape
// rule (re-seal a packet that matches a DPI signature) adds: its predicate, and how
// many packets are sealed twice (counter sealed_twice_per_1000).
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <vector>

#include "parley/base/check.h"
#include "parley/crypto/packet_opener.h"
#include "parley/crypto/packet_sealer.h"
#include "parley/crypto/wire_shape.h"

namespace {

using namespace parley::crypto;

constexpr std::size_t kContentSize = 100;

void BM_BareAead(benchmark::State& state) {
  PARLEY_CHECK(sodium_init() >= 0);
  std::array<uint8_t, crypto_aead_xchacha20poly1305_ietf_KEYBYTES> key{};
  std::array<uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce{};
  randombytes_buf(key.data(), key.size());
  std::vector<uint8_t> message(kContentSize, 0x5a), sealed(kContentSize + 16), opened(kContentSize);
  uint64_t counter = 0;
  for (auto _ : state) {
    // A fresh nonce per packet, as any real use needs.
    ++counter;
    std::memcpy(nonce.data() + 16, &counter, sizeof counter);
    unsigned long long sealed_size = 0, opened_size = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(sealed.data(), &sealed_size, message.data(), message.size(), nullptr,
                                               0, nullptr, nonce.data(), key.data());
    int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(opened.data(), &opened_size, nullptr, sealed.data(),
                                                        sealed_size, nullptr, 0, nonce.data(), key.data());
    benchmark::DoNotOptimize(rc);
    benchmark::DoNotOptimize(opened.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BareAead);

void BM_SealOpen(benchmark::State& state) {
  DirectionKeys keys;
  randombytes_buf(keys.chain_key.data(), keys.chain_key.size());
  randombytes_buf(keys.header_key.data(), keys.header_key.size());
  parley::TimePoint now{};
  PacketSealer sealer(keys, now);  // default policy: buckets (100 bytes -> 128 on the wire)
  PacketOpener opener(keys);
  std::vector<uint8_t> message(kContentSize, 0x5a), sealed(kMaxSealedSize), opened(kMaxSealedSize);
  for (auto _ : state) {
    auto size = sealer.SealInto(message, now, sealed);
    auto result = opener.OpenInto(std::span(sealed).first(*size), opened);
    if (!result.ok()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["sealed_twice_per_1000"] =
      1000.0 * static_cast<double>(sealer.signature_redraws()) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_SealOpen);

void BM_WireShapePredicate(benchmark::State& state) {
  std::vector<uint8_t> datagram(128);
  randombytes_buf(datagram.data(), datagram.size());
  uint8_t i = 0;
  for (auto _ : state) {
    datagram[2] = i++;
    benchmark::DoNotOptimize(MatchesClassifierSignature(datagram));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WireShapePredicate);

}  // namespace

BENCHMARK_MAIN();
