// Shared helpers for the crypto tests: deterministic identities, a complete honest
// handshake, and hex literals.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "parley/crypto/encoding.h"
#include "parley/crypto/identity_key.h"
#include "parley/crypto/key_agreement.h"
#include "parley/crypto/key_source.h"

namespace parley::crypto::testing {

inline std::vector<uint8_t> Hex(std::string_view text) { return FromHex(text).value(); }

template <std::size_t N>
std::array<uint8_t, N> HexArray(std::string_view text) {
  auto bytes = Hex(text);
  EXPECT_EQ(bytes.size(), N);
  std::array<uint8_t, N> out{};
  std::copy_n(bytes.begin(), std::min(N, bytes.size()), out.begin());
  return out;
}

inline IdentityKey IdentityFromSeed(uint64_t seed) {
  SeededKeySource source(seed);
  return IdentityKey::Generate(source);
}

inline CallContext TestContext() {
  CallContext context;
  for (std::size_t i = 0; i < context.call_id.size(); ++i) context.call_id[i] = static_cast<uint8_t>(0xc0 + i);
  context.caller = {"alice", "laptop"};
  context.callee = {"bob", "phone"};
  return context;
}

// Two honest sides of one call, run to completion.
struct HonestCall {
  IdentityKey alice_id = IdentityFromSeed(1);
  IdentityKey bob_id = IdentityFromSeed(2);
  SeededKeySource alice_keys{101};
  SeededKeySource bob_keys{102};
  KeyAgreement alice = KeyAgreement::Create(Role::kCaller, TestContext(), alice_id, alice_keys).value();
  KeyAgreement bob = KeyAgreement::Create(Role::kCallee, TestContext(), bob_id, bob_keys).value();
  std::vector<uint8_t> commit, accept, reveal;

  void Run() {
    commit = alice.MakeCommit().value();
    ASSERT_TRUE(bob.Receive(commit).ok());
    accept = bob.MakeAccept().value();
    ASSERT_TRUE(alice.Receive(accept).ok());
    reveal = alice.MakeReveal().value();
    auto status = bob.Receive(reveal);
    ASSERT_TRUE(status.ok()) << status.error().message;
  }
};

}  // namespace parley::crypto::testing
