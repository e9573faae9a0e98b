// Known-answer vectors: the exact values printed in docs/protocol.md ("Test
// vectors"). Another implementation (the web client) must reproduce them.
#include <gtest/gtest.h>

#include <cstdlib>
#include <deque>
#include <iostream>

#include "crypto_test_support.h"
#include "parley/crypto/header_protection.h"
#include "parley/crypto/key_ratchet.h"
#include "parley/crypto/packet_opener.h"
#include "parley/crypto/packet_sealer.h"
#include "parley/crypto/safety_number.h"

namespace parley::crypto {
namespace {

using testing::Hex;

// Hands out the exact bytes it was given, in order.
class FixedKeySource final : public KeySource {
 public:
  explicit FixedKeySource(std::vector<uint8_t> bytes) : bytes_(bytes.begin(), bytes.end()) {}
  void Fill(std::span<uint8_t> out) override {
    PARLEY_CHECK(out.size() <= bytes_.size());
    for (auto& b : out) {
      b = bytes_.front();
      bytes_.pop_front();
    }
  }

 private:
  std::deque<uint8_t> bytes_;
};

std::vector<uint8_t> Sequence(uint8_t first, std::size_t n) {
  std::vector<uint8_t> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(first + i);
  return out;
}

struct Expected {
  const char* name;
  std::string actual;
  const char* expected;
};

void CheckAll(const std::vector<Expected>& values) {
  const bool print = std::getenv("PARLEY_PRINT_VECTORS") != nullptr;
  for (const auto& v : values) {
    if (print) std::cout << v.name << " = " << v.actual << "\n";
    EXPECT_EQ(v.actual, v.expected) << v.name;
  }
}

TEST(VectorsTest, KeyAgreementPacketAndFingerprint) {
  // Inputs (docs/protocol.md lists the same).
  FixedKeySource alice_identity_seed(Sequence(0x00, 32)), bob_identity_seed(Sequence(0x20, 32));
  IdentityKey alice_id = IdentityKey::Generate(alice_identity_seed);
  IdentityKey bob_id = IdentityKey::Generate(bob_identity_seed);
  FixedKeySource alice_ephemeral(Sequence(0x40, 32)), bob_ephemeral(Sequence(0x60, 32));
  CallContext context = testing::TestContext();  // call id c0..cf, alice/laptop -> bob/phone

  auto alice = KeyAgreement::Create(Role::kCaller, context, alice_id, alice_ephemeral).value();
  auto bob = KeyAgreement::Create(Role::kCallee, context, bob_id, bob_ephemeral).value();
  auto commit = alice.MakeCommit().value();
  ASSERT_TRUE(bob.Receive(commit).ok());
  auto accept = bob.MakeAccept().value();
  ASSERT_TRUE(alice.Receive(accept).ok());
  auto reveal = alice.MakeReveal().value();
  ASSERT_TRUE(bob.Receive(reveal).ok());
  ASSERT_EQ(alice.fingerprint(), bob.fingerprint());

  // Intermediate values, recomputed from the spec's formulas.
  const auto context_hash = ContextHash(context);
  std::vector<uint8_t> transcript(context_hash.begin(), context_hash.end());
  for (const auto* m : {&commit, &accept, &reveal}) transcript.insert(transcript.end(), m->begin(), m->end());
  const auto transcript_hash = DomainHash("parley-v1 transcript", transcript);
  std::array<uint8_t, 32> shared{};
  const auto alice_secret = Sequence(0x40, 32);
  const auto bob_public = ParseHandshakeMessage(accept)->key;
  ASSERT_EQ(crypto_scalarmult(shared.data(), alice_secret.data(), bob_public.data()), 0);
  const Secret<32> prk = ExtractPrk(shared, transcript_hash);

  CallKeys keys = alice.TakeKeys();
  KeyRatchet ratchet(keys.media.send.chain_key);
  const std::string epoch0_key = ToHex(ratchet.keys().aead_key.span());
  const std::string epoch0_prefix = ToHex(ratchet.keys().nonce_prefix.span());
  ratchet.AdvanceTo(1);

  const std::string content = "hello parley";
  TimePoint now{};
  PacketSealer sealer(keys.media.send, now);
  auto packet = sealer.Seal(std::span(reinterpret_cast<const uint8_t*>(content.data()), content.size()), now).value();
  CallKeys bob_keys = bob.TakeKeys();
  auto opened = PacketOpener(bob_keys.media.receive).Open(packet);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(std::string(opened->begin(), opened->end()), content);

  CheckAll({
      {"alice_identity_public", ToHex(alice_id.public_key()), "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"},
      {"bob_identity_public", ToHex(bob_id.public_key()), "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7"},
      {"context_hash", ToHex(context_hash), "f8ed861a7ae4164ed23ba6fe061de04b8478cc3e851c5f3c6c7fa6841a24b4d4"},
      {"commit", ToHex(commit), "0101c0c1c2c3c4c5c6c7c8c9cacbcccdcecf03a107bff3ce10be1d70dd18e74b"
       "c09967e4d6309ba50d5f1ddc8664125531b899c42a6984d12036efc8420f9e64"
       "2d99095afe8a1f5b88a118034ded3a29bf8d8ee052c5ee03abedecdab7e822f2"
       "ec0821dd911230443340a27131fd85f04647aefa6d42e4aea14fe033865a8f81"
       "a4617f535436e1b6d390b20985966858a606"},
      {"accept", ToHex(accept), "0102c0c1c2c3c4c5c6c7c8c9cacbcccdcecf29acbae141bccaf0b22e1a94d34d"
       "0bc7361e526d0bfe12c89794bc9322966dd7675dd574ed7789310b3d2e7681f3"
       "790b466c773b1521fecf36577958371ea52f5eff76b9c692a66618bd65ae436d"
       "8fdbe9ef4d1c2d37c426fe9e6a9f85e117770f168de6d355a48b5f0518de1940"
       "3a5225c88f590e51d9cc4b9a951d9b7d5c00"},
      {"reveal", ToHex(reveal), "0103c0c1c2c3c4c5c6c7c8c9cacbcccdcecf79a631eede1bf9c98f12032cdead"
       "d0e7a079398fc786b88cc846ec89af85a51ac004d2d855f554c13d9e07efaea9"
       "3e4d65243b15f28d467cfca1839873c6eb898699069d9022cf9a336d975954b3"
       "93dd063bc2b1619109518e4e4c4703dff603"},
      {"shared_secret", ToHex(shared), "d6fb939511b2381bc8599b4b8edc5968829450dfd7a87aebe78a703cd04cd54e"},
      {"transcript_hash", ToHex(transcript_hash), "63717710ffad13219649f2cec5d2efc315791ed05d68e3ec637e8091b5cc2bda"},
      {"prk", ToHex(prk.span()), "0eb317e747171dd59ef3fc7f7769abbb03478c2d1a06ee73ee24432fed942dcb"},
      {"media_chain_caller_to_callee", ToHex(keys.media.send.chain_key.span()), "09bdff215d49841c4ee897627281502594d267c9ec61c81f6535d9745346679c"},
      {"media_header_caller_to_callee", ToHex(keys.media.send.header_key.span()), "90460bb3e741e849fa3dcd9b985fdf1d5a45f852f56ef202c6326cb144f03b91"},
      {"media_chain_callee_to_caller", ToHex(keys.media.receive.chain_key.span()), "19ede100e29b0a7a594b8cd7972eeb8104f1290e6ee64b2656fab7602b644c16"},
      {"control_chain_caller_to_callee", ToHex(keys.control.send.chain_key.span()), "757a9e962c41d6930f56470aa46cbff3d7ae44ad4a58197cadf04ffe42c53325"},
      {"epoch0_aead_key", epoch0_key, "6a2a72f54a433e700ebe15c38ffb76379b72f99c966982c8cfa22ffa6e9406fe"},
      {"epoch0_nonce_prefix", epoch0_prefix, "4f95507d65b0c13bd5bc6d8ed6c4e3e9"},
      {"epoch1_aead_key", ToHex(ratchet.keys().aead_key.span()), "2f8b8eaf6f1b299552cc952c5af3112c498856449670955b440f5caadacb1539"},
      {"sealed_hello_parley_counter0", ToHex(packet), "59a863025a9d5afab7fbde977dceb42f71ec583ab6bf01a7895391ae1edf29f3"
       "e1612805472e3771d2f6f12ceecef61f5f00f0fd97bff1cc069f050a39abca73"},
      {"fingerprint_indices", ToHex(keys.fingerprint.indices()), "4aa7fe088d"},
      {"fingerprint_emoji", keys.fingerprint.Emoji(), "🌹 🚠 ⌚ 🐯 🥦"},
      {"fingerprint_words", keys.fingerprint.Words(), "rose gondola watch tiger broccoli"},
      {"safety_number", SafetyNumber::Compute(alice_id.public_key(), bob_id.public_key()).ToString(), "05759 91417 54515 67917 62098 77021 44299 85638 70591 80806 78412 26403"},
  });
}

TEST(VectorsTest, HeaderMask) {
  Secret<32> key(std::span<const uint8_t, 32>(Sequence(0x80, 32).data(), 32));
  const auto sample = Sequence(0xa0, 16);
  CheckAll({{"header_mask", ToHex(HeaderMask(key, std::span<const uint8_t, 16>(sample.data(), 16))), "0271cfded659a691"}});
}

}  // namespace
}  // namespace parley::crypto
