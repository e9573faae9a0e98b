// Key agreement: honest runs agree, a key-substituting relay is visible in the
// fingerprint, bad keys and bad orders are refused.
#include "parley/crypto/key_agreement.h"

#include <gtest/gtest.h>

#include "crypto_test_support.h"

namespace parley::crypto {
namespace {

using testing::HonestCall;
using testing::Hex;
using testing::IdentityFromSeed;
using testing::TestContext;

TEST(KeyAgreementTest, HonestExchangeGivesEqualFingerprintsAndMatchingKeys) {
  HonestCall call;
  call.Run();
  ASSERT_TRUE(call.alice.complete());
  ASSERT_TRUE(call.bob.complete());
  EXPECT_EQ(call.alice.fingerprint(), call.bob.fingerprint());
  EXPECT_EQ(call.alice.fingerprint().Emoji(), call.bob.fingerprint().Emoji());
  EXPECT_EQ(call.alice.peer_identity(), call.bob_id.public_key());
  EXPECT_EQ(call.bob.peer_identity(), call.alice_id.public_key());
  CallKeys a = call.alice.TakeKeys();
  CallKeys b = call.bob.TakeKeys();
  EXPECT_TRUE(a.media.send.chain_key == b.media.receive.chain_key);
  EXPECT_TRUE(a.media.receive.chain_key == b.media.send.chain_key);
  EXPECT_TRUE(a.media.send.header_key == b.media.receive.header_key);
  EXPECT_TRUE(a.control.send.chain_key == b.control.receive.chain_key);
  EXPECT_TRUE(a.control.receive.chain_key == b.control.send.chain_key);
  // Every key is distinct from every other.
  const Secret<32>* all[] = {&a.media.send.chain_key,   &a.media.receive.chain_key,   &a.control.send.chain_key,
                             &a.control.receive.chain_key, &a.media.send.header_key,    &a.media.receive.header_key,
                             &a.control.send.header_key, &a.control.receive.header_key};
  for (std::size_t i = 0; i < std::size(all); ++i) {
    for (std::size_t j = i + 1; j < std::size(all); ++j) EXPECT_FALSE(*all[i] == *all[j]) << i << " " << j;
  }
}

TEST(KeyAgreementTest, DifferentSeedsGiveDifferentFingerprints) {
  HonestCall one, two;
  two.alice_keys = SeededKeySource(999);
  one.Run();
  two.Run();
  EXPECT_NE(one.alice.fingerprint(), two.alice.fingerprint());
}

// The relay runs a full handshake with each side, posing as the other. It cannot
// forge signatures, so it signs with its own identity key; the fingerprints differ.
TEST(KeyAgreementTest, ManInTheMiddleSubstitutingKeysBothWaysGetsTwoFingerprints) {
  IdentityKey alice_id = IdentityFromSeed(1), bob_id = IdentityFromSeed(2), mallory_id = IdentityFromSeed(3);
  SeededKeySource ak(11), bk(12), m1k(13), m2k(14);
  auto alice = KeyAgreement::Create(Role::kCaller, TestContext(), alice_id, ak).value();
  auto bob = KeyAgreement::Create(Role::kCallee, TestContext(), bob_id, bk).value();
  auto fake_bob = KeyAgreement::Create(Role::kCallee, TestContext(), mallory_id, m1k).value();
  auto fake_alice = KeyAgreement::Create(Role::kCaller, TestContext(), mallory_id, m2k).value();

  ASSERT_TRUE(fake_bob.Receive(alice.MakeCommit().value()).ok());
  ASSERT_TRUE(bob.Receive(fake_alice.MakeCommit().value()).ok());
  ASSERT_TRUE(fake_alice.Receive(bob.MakeAccept().value()).ok());
  ASSERT_TRUE(alice.Receive(fake_bob.MakeAccept().value()).ok());
  ASSERT_TRUE(fake_bob.Receive(alice.MakeReveal().value()).ok());
  ASSERT_TRUE(bob.Receive(fake_alice.MakeReveal().value()).ok());

  ASSERT_TRUE(alice.complete() && bob.complete());
  EXPECT_NE(alice.fingerprint(), bob.fingerprint());
  EXPECT_NE(alice.fingerprint().Words(), bob.fingerprint().Words());
  // ...and both see an identity key that is not their peer's.
  EXPECT_NE(alice.peer_identity(), bob_id.public_key());
  EXPECT_NE(bob.peer_identity(), alice_id.public_key());
}

TEST(KeyAgreementTest, SubstitutedEphemeralKeyWithoutResigningAborts) {
  HonestCall call;
  auto commit = call.alice.MakeCommit().value();
  ASSERT_TRUE(call.bob.Receive(commit).ok());
  auto accept = call.bob.MakeAccept().value();
  accept[2 + 16 + 32] ^= 0x01;  // first byte of the callee's X25519 key
  auto status = call.alice.Receive(accept);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("signature"), std::string::npos);
  EXPECT_TRUE(call.alice.aborted());
  EXPECT_FALSE(call.alice.MakeReveal().ok());
}

// Signs a message as `signer` over the transcript, as docs/protocol.md defines it;
// what an attacker who holds the key (or a buggy peer) could send.
std::vector<uint8_t> SignAs(const IdentityKey& signer, HandshakeMessage m, std::string_view label,
                            const std::vector<uint8_t>& earlier) {
  auto prefix = SerializeHandshakeMessage(m);
  prefix.resize(prefix.size() - 64);
  // label || 0x00 || context hash || earlier messages || this message's prefix
  auto context_hash = ContextHash(TestContext());
  std::string signed_text(label);
  signed_text.push_back('\0');
  signed_text.append(context_hash.begin(), context_hash.end());
  signed_text.append(earlier.begin(), earlier.end());
  signed_text.append(prefix.begin(), prefix.end());
  std::vector<uint8_t> signed_bytes(signed_text.begin(), signed_text.end());
  m.signature = signer.Sign(signed_bytes);
  return SerializeHandshakeMessage(m);
}

TEST(KeyAgreementTest, RevealNotMatchingItsCommitmentAborts) {
  HonestCall call;
  auto commit = call.alice.MakeCommit().value();
  ASSERT_TRUE(call.bob.Receive(commit).ok());
  auto accept = call.bob.MakeAccept().value();
  // A properly signed reveal of a different key than the one committed to.
  HandshakeMessage reveal;
  reveal.type = HandshakeType::kReveal;
  reveal.call_id = TestContext().call_id;
  reveal.key[0] = 9;  // the X25519 base point: a valid, different public key
  std::vector<uint8_t> earlier = commit;
  earlier.insert(earlier.end(), accept.begin(), accept.end());
  auto status = call.bob.Receive(SignAs(call.alice_id, reveal, "parley-v1 reveal", earlier));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("commitment"), std::string::npos) << status.error().message;
  EXPECT_TRUE(call.bob.aborted());
  // The honest reveal cannot rescue an aborted agreement.
  ASSERT_TRUE(call.alice.Receive(accept).ok());
  EXPECT_FALSE(call.bob.Receive(call.alice.MakeReveal().value()).ok());
  EXPECT_FALSE(call.bob.complete());
}

// Low-order points of Curve25519 (RFC 7748 §7 warns of them; these are the inputs
// libsodium refuses), plus their forms with bit 255 set, which X25519 ignores.
const char* const kLowOrderPoints[] = {
    "0000000000000000000000000000000000000000000000000000000000000000",  // 0
    "0100000000000000000000000000000000000000000000000000000000000000",  // 1
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",  // order 8
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",  // order 8
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p - 1
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p + 1
    "0000000000000000000000000000000000000000000000000000000000000080",
    "0100000000000000000000000000000000000000000000000000000000000080",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
};

class LowOrderKeyTest : public ::testing::TestWithParam<const char*> {};

TEST_P(LowOrderKeyTest, CallerRefusesItAsTheCalleesKey) {
  HonestCall call;
  auto commit = call.alice.MakeCommit().value();
  HandshakeMessage accept;
  accept.type = HandshakeType::kAccept;
  accept.call_id = TestContext().call_id;
  accept.identity = call.bob_id.public_key();
  accept.key = testing::HexArray<32>(GetParam());
  auto status = call.alice.Receive(SignAs(call.bob_id, accept, "parley-v1 accept", commit));
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(status.error().message.find("low-order") != std::string::npos ||
              status.error().message.find("all zero") != std::string::npos)
      << status.error().message;
  EXPECT_TRUE(call.alice.aborted());
}

TEST_P(LowOrderKeyTest, CalleeRefusesItAsTheCallersKey) {
  HonestCall call;
  const X25519PublicKey bad = testing::HexArray<32>(GetParam());
  HandshakeMessage commit;
  commit.type = HandshakeType::kCommit;
  commit.call_id = TestContext().call_id;
  commit.identity = call.alice_id.public_key();
  commit.key = CommitTo(commit.call_id, commit.identity, bad);
  auto commit_bytes = SignAs(call.alice_id, commit, "parley-v1 commit", {});
  ASSERT_TRUE(call.bob.Receive(commit_bytes).ok());
  auto accept = call.bob.MakeAccept().value();
  HandshakeMessage reveal;
  reveal.type = HandshakeType::kReveal;
  reveal.call_id = commit.call_id;
  reveal.key = bad;
  std::vector<uint8_t> earlier = commit_bytes;
  earlier.insert(earlier.end(), accept.begin(), accept.end());
  auto status = call.bob.Receive(SignAs(call.alice_id, reveal, "parley-v1 reveal", earlier));
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(status.error().message.find("low-order") != std::string::npos ||
              status.error().message.find("all zero") != std::string::npos)
      << status.error().message;
  EXPECT_TRUE(call.bob.aborted());
}

INSTANTIATE_TEST_SUITE_P(KnownPoints, LowOrderKeyTest, ::testing::ValuesIn(kLowOrderPoints));

TEST(KeyAgreementTest, DuplicateMessagesAreRefusedAndChangeNothing) {
  HonestCall call;
  auto commit = call.alice.MakeCommit().value();
  ASSERT_TRUE(call.bob.Receive(commit).ok());
  auto dup = call.bob.Receive(commit);
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("duplicate"), std::string::npos);
  EXPECT_FALSE(call.bob.aborted());
  auto accept = call.bob.MakeAccept().value();
  EXPECT_FALSE(call.bob.MakeAccept().ok());  // an accept is made once
  ASSERT_TRUE(call.alice.Receive(accept).ok());
  EXPECT_FALSE(call.alice.Receive(accept).ok());
  auto reveal = call.alice.MakeReveal().value();
  ASSERT_TRUE(call.bob.Receive(reveal).ok());
  EXPECT_FALSE(call.bob.Receive(reveal).ok());
  EXPECT_FALSE(call.alice.MakeReveal().ok());
  EXPECT_TRUE(call.alice.complete() && call.bob.complete());
  EXPECT_EQ(call.alice.fingerprint(), call.bob.fingerprint());
}

TEST(KeyAgreementTest, AlternativeVersionsAreRefused) {
  HonestCall call;
  // A second, validly signed commit from the same caller (say, a retry with new keys).
  SeededKeySource other_keys(555);
  auto other_alice = KeyAgreement::Create(Role::kCaller, TestContext(), call.alice_id, other_keys).value();
  auto commit = call.alice.MakeCommit().value();
  ASSERT_TRUE(call.bob.Receive(commit).ok());
  auto alt = call.bob.Receive(other_alice.MakeCommit().value());
  ASSERT_FALSE(alt.ok());
  EXPECT_NE(alt.error().message.find("second, different"), std::string::npos);
  // A second accept from another callee session after the first was taken.
  SeededKeySource other_bob_keys(556);
  auto other_bob = KeyAgreement::Create(Role::kCallee, TestContext(), call.bob_id, other_bob_keys).value();
  ASSERT_TRUE(other_bob.Receive(commit).ok());
  ASSERT_TRUE(call.alice.Receive(call.bob.MakeAccept().value()).ok());
  EXPECT_FALSE(call.alice.Receive(other_bob.MakeAccept().value()).ok());
  ASSERT_TRUE(call.bob.Receive(call.alice.MakeReveal().value()).ok());
  EXPECT_EQ(call.alice.fingerprint(), call.bob.fingerprint());
}

TEST(KeyAgreementTest, OutOfOrderAndReflectedMessagesAreRefused) {
  HonestCall call;
  HonestCall other;  // a finished exchange provides messages of every type
  other.Run();
  // The callee gets a reveal or an accept before anything; the caller an accept
  // before its commit.
  EXPECT_FALSE(call.bob.Receive(other.reveal).ok());
  EXPECT_FALSE(call.bob.Receive(other.accept).ok());
  EXPECT_FALSE(call.alice.Receive(other.accept).ok());
  EXPECT_FALSE(call.alice.aborted() || call.bob.aborted());
  auto commit = call.alice.MakeCommit().value();
  // Reflection: the caller's own commit comes back to it.
  auto reflected = call.alice.Receive(commit);
  ASSERT_FALSE(reflected.ok());
  EXPECT_NE(reflected.error().message.find("does not receive"), std::string::npos);
  ASSERT_TRUE(call.bob.Receive(commit).ok());
  // Reveal before the accept was made.
  EXPECT_FALSE(call.bob.Receive(other.reveal).ok());
  auto accept = call.bob.MakeAccept().value();
  EXPECT_FALSE(call.bob.Receive(accept).ok());  // reflected back to the callee
  ASSERT_TRUE(call.alice.Receive(accept).ok());
  auto reveal = call.alice.MakeReveal().value();
  EXPECT_FALSE(call.alice.Receive(reveal).ok());  // reflected
  ASSERT_TRUE(call.bob.Receive(reveal).ok());
  EXPECT_EQ(call.alice.fingerprint(), call.bob.fingerprint());
}

TEST(KeyAgreementTest, MessageFromAnotherCallAborts) {
  HonestCall call;
  CallContext other = TestContext();
  other.call_id[0] ^= 1;
  SeededKeySource keys(7);
  auto stranger = KeyAgreement::Create(Role::kCaller, other, call.alice_id, keys).value();
  auto status = call.bob.Receive(stranger.MakeCommit().value());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("another call"), std::string::npos);
  EXPECT_TRUE(call.bob.aborted());
}

// The relay tells Bob the call is from "carol" while Alice signed "alice".
TEST(KeyAgreementTest, NamesAreBoundIntoTheSignature) {
  HonestCall call;
  CallContext lie = TestContext();
  lie.caller.user = "carol";
  SeededKeySource keys(8);
  auto bob = KeyAgreement::Create(Role::kCallee, lie, call.bob_id, keys).value();
  auto status = bob.Receive(call.alice.MakeCommit().value());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("signature"), std::string::npos);
}

TEST(KeyAgreementTest, OwnIdentityInPeerMessageIsRefused) {
  IdentityKey same = IdentityFromSeed(1);
  SeededKeySource ak(1), bk(2);
  auto alice = KeyAgreement::Create(Role::kCaller, TestContext(), same, ak).value();
  auto bob = KeyAgreement::Create(Role::kCallee, TestContext(), same, bk).value();
  EXPECT_FALSE(bob.Receive(alice.MakeCommit().value()).ok());
  EXPECT_TRUE(bob.aborted());
}

TEST(KeyAgreementTest, EveryBitFlipOfEveryMessageIsRefused) {
  for (int which = 0; which < 3; ++which) {
    HonestCall ref;
    ref.Run();
    const std::vector<uint8_t>& original = which == 0 ? ref.commit : which == 1 ? ref.accept : ref.reveal;
    for (std::size_t bit = 0; bit < original.size() * 8; ++bit) {
      HonestCall call;
      auto commit = call.alice.MakeCommit().value();
      std::vector<uint8_t> tampered = original;
      tampered[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      if (which == 0) {
        EXPECT_FALSE(call.bob.Receive(tampered).ok()) << "commit bit " << bit;
        continue;
      }
      ASSERT_TRUE(call.bob.Receive(commit).ok());
      auto accept = call.bob.MakeAccept().value();
      if (which == 1) {
        EXPECT_FALSE(call.alice.Receive(tampered).ok()) << "accept bit " << bit;
        continue;
      }
      ASSERT_TRUE(call.alice.Receive(accept).ok());
      (void)call.alice.MakeReveal().value();
      EXPECT_FALSE(call.bob.Receive(tampered).ok()) << "reveal bit " << bit;
      EXPECT_FALSE(call.bob.complete());
    }
  }
}

TEST(KeyAgreementTest, RejectsBadNames) {
  IdentityKey id = IdentityFromSeed(1);
  SeededKeySource keys(1);
  CallContext context = TestContext();
  context.callee.device = "";
  EXPECT_FALSE(KeyAgreement::Create(Role::kCaller, context, id, keys).ok());
  context.callee.device = std::string(256, 'x');
  EXPECT_FALSE(KeyAgreement::Create(Role::kCaller, context, id, keys).ok());
}

}  // namespace
}  // namespace parley::crypto
