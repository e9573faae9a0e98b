// Fuzzes the known_peers file parser: clear errors, no crash, and what it accepts
// serializes to a form that parses to the same store.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "parley/base/check.h"
#include "parley/crypto/identity_store.h"

using namespace parley::crypto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto store = IdentityStore::Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!store.ok()) {
    PARLEY_CHECK(!store.error().message.empty());
    return 0;
  }
  const std::string text = store->Serialize();
  auto again = IdentityStore::Parse(text);
  PARLEY_CHECK(again.ok());
  PARLEY_CHECK(again->Serialize() == text);
  PARLEY_CHECK(again->size() == store->size());
  return 0;
}
