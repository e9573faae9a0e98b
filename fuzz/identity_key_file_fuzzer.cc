// Fuzzes the identity_key file parser: clear errors, no crash, and an accepted file
// round-trips to the same key.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "parley/base/check.h"
#include "parley/crypto/identity_key.h"

using namespace parley::crypto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto key = IdentityKey::ParseFile(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!key.ok()) {
    PARLEY_CHECK(!key.error().message.empty());
    return 0;
  }
  auto again = IdentityKey::ParseFile(key->SerializeFile());
  PARLEY_CHECK(again.ok() && again->public_key() == key->public_key());
  return 0;
}
