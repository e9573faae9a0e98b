// Fuzzes the key-agreement message parser, its base64 carrier and the state machine
// that receives it: no crash, canonical encodings, nothing accepted unsigned.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "parley/base/check.h"
#include "parley/crypto/encoding.h"
#include "parley/crypto/handshake_message.h"
#include "parley/crypto/key_agreement.h"

using namespace parley::crypto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  auto parsed = ParseHandshakeMessage(bytes);
  if (parsed.ok()) {
    auto again = SerializeHandshakeMessage(*parsed);
    PARLEY_CHECK(again.size() == size && std::equal(again.begin(), again.end(), data));
  }
  auto decoded = FromBase64(std::string_view(reinterpret_cast<const char*>(data), size));
  if (decoded.ok()) {
    PARLEY_CHECK(ToBase64(*decoded) == std::string_view(reinterpret_cast<const char*>(data), size));
  }
  // Both roles receive the input first: without a valid signature nothing completes.
  static const IdentityKey identity = [] {
    SeededKeySource source(1);
    return IdentityKey::Generate(source);
  }();
  CallContext context;
  context.caller = {"alice", "laptop"};
  context.callee = {"bob", "phone"};
  for (Role role : {Role::kCaller, Role::kCallee}) {
    SeededKeySource keys(2);
    auto agreement = KeyAgreement::Create(role, context, identity, keys).value();
    if (role == Role::kCaller) (void)agreement.MakeCommit();
    (void)agreement.Receive(bytes);
    PARLEY_CHECK(!agreement.complete());
  }
  return 0;
}
